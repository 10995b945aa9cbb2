package calling

import (
	"bytes"
	"encoding/json"
	neturl "net/url"
	"regexp"
	"slices"
	"strings"
)

// What each role may read beyond the configuration itself. A VIEWER is a
// read-only dashboard: it reads every object, but no secret and nobody
// else's activity. Webhook URLs often carry a credential of the receiver
// in their query string (?password=…, ?token=…) or, in older rows, their
// user information (user:pass@); a VIEWER reads them masked wherever they
// appear (the endpoint's url, audit log details, the texts of delivery
// attempts). When a token was last used tells when its holder works; a
// VIEWER reads it for its own token only.

// Masked replaces a secret in what a VIEWER reads.
const Masked = "REDACTED"

// SeesURLSecrets reports whether actor reads webhook URLs, and the texts
// that may quote them, as stored: ADMIN, and AGENT tokens (which see only
// the endpoints they manage); not a VIEWER.
func SeesURLSecrets(actor Actor) bool { return actor.Role != RoleViewer }

// SeesLastUsed reports whether actor may read when token tokenID was last
// used: an ADMIN for every token, others for their own only.
func SeesLastUsed(actor Actor, tokenID int64) bool {
	return actor.Role == RoleAdmin || (actor.TokenID != 0 && actor.TokenID == tokenID)
}

// MaskURL returns raw with its user information, the value of every
// query parameter and of every path parameter ("/in;jsessionid=…"; a
// parameter without a value: all of it) and its fragment replaced by
// Masked, keeping scheme, host, port, path segments and parameter names: "https://u:p@h.example/in?password=s&team=7#x" becomes
// "https://REDACTED@h.example/in?password=REDACTED&team=REDACTED#REDACTED".
// Text that is not an absolute URL comes back whole but for what follows
// a "?", "#" or "@".
func MaskURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return maskUnparsed(raw)
	}
	var sb strings.Builder
	sb.WriteString(u.Scheme + "://")
	if u.User != nil {
		sb.WriteString(Masked + "@")
	}
	sb.WriteString(u.Host + maskPathParams(u.EscapedPath()))
	if u.RawQuery != "" || u.ForceQuery {
		sb.WriteString("?" + maskQuery(u.RawQuery))
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		sb.WriteString("#" + Masked)
	}
	return sb.String()
}

// maskPathParams masks the parameters of each path segment (RFC 3986
// section 3.3: "/in;jsessionid=s;v=2" → "/in;jsessionid=REDACTED;v=REDACTED"),
// which servers read like a query string and where a session or token may
// sit: the value of each, or all of one without a value.
func maskPathParams(path string) string {
	if !strings.Contains(path, ";") {
		return path
	}
	segments := strings.Split(path, "/")
	for i, seg := range segments {
		name, params, found := strings.Cut(seg, ";")
		if !found {
			continue
		}
		parts := strings.Split(params, ";")
		for j, p := range parts {
			switch key, _, hasValue := strings.Cut(p, "="); {
			case p == "":
			case hasValue:
				parts[j] = key + "=" + Masked
			default:
				parts[j] = Masked
			}
		}
		segments[i] = name + ";" + strings.Join(parts, ";")
	}
	return strings.Join(segments, "/")
}

// maskQuery masks the value of each parameter of a raw query string.
func maskQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		switch name, _, hasValue := strings.Cut(p, "="); {
		case p == "":
		case hasValue:
			parts[i] = name + "=" + Masked
		default:
			parts[i] = Masked
		}
	}
	return strings.Join(parts, "&")
}

// maskUnparsed masks what may be secret in a URL that does not parse:
// user information and everything after the first "?" or "#".
func maskUnparsed(raw string) string {
	out := raw
	if i := strings.IndexAny(out, "?#"); i >= 0 {
		out = out[:i+1] + Masked
	}
	if scheme, rest, ok := strings.Cut(out, "://"); ok {
		if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
			out = scheme + "://" + Masked + rest[at:]
		}
	}
	return out
}

// urlInText finds absolute URLs quoted in a text (an error message, an
// answer's body, an audit entry's field).
var urlInText = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>\\]+`)

// minSecretLen is the shortest query value MaskText replaces wherever it
// appears: shorter ones (1, on, en) are no credential, and replacing them
// would garble the text.
const minSecretLen = 4

// MaskText returns text with every URL in it masked (MaskURL) and every
// occurrence of the secrets of the URL it is about (URLSecrets of
// aboutURL, "" for none) replaced by Masked: a receiver's answer may
// quote its request path and query without the scheme and host.
func MaskText(text, aboutURL string) string {
	out := urlInText.ReplaceAllStringFunc(text, MaskURL)
	for _, s := range URLSecrets(aboutURL) {
		out = strings.ReplaceAll(out, s, Masked)
	}
	return out
}

// URLSecrets returns the parts of raw that MaskURL hides and that are
// long enough to be recognised elsewhere: the user information, each
// query value (as written, decoded and encoded again) and the fragment,
// longest first.
func URLSecrets(raw string) []string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	add := func(s string) {
		if len(s) >= minSecretLen && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if u.User != nil {
		add(u.User.String())
	}
	params := strings.Split(u.RawQuery, "&")
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if _, segParams, found := strings.Cut(seg, ";"); found {
			params = append(params, strings.Split(segParams, ";")...)
		}
	}
	for _, p := range params {
		name, value, hasValue := strings.Cut(p, "=")
		if !hasValue {
			value = name
		}
		add(value)
		if dec, err := neturl.QueryUnescape(value); err == nil {
			add(dec)
			add(neturl.QueryEscape(dec)) // as a receiver may quote it again
		}
	}
	add(u.Fragment)
	// Longest first, so that a value never leaves part of a longer one.
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// AuditDetailsFor returns the JSON details of an audit entry as actor may
// read them: whole for an ADMIN, with URLs masked (MaskAuditDetails) for a
// VIEWER, and "{}" for an AGENT token. An AGENT token may not read the
// audit log; it reaches an entry only as the cause of one of its own
// agent's ability versions, and that entry's details describe the whole
// mutation, other agents included (the IDs of every agent a queue change
// or an upsertAgents touched). Its actor, action and target stay readable.
func AuditDetailsFor(actor Actor, details string) string {
	switch actor.Role {
	case RoleAdmin:
		return details
	case RoleViewer:
		return MaskAuditDetails(details)
	default:
		return "{}"
	}
}

// MaskAuditDetails returns an audit entry's JSON details with every URL
// in its string values masked (MaskText); unchanged details come back as
// they are.
func MaskAuditDetails(details string) string {
	dec := json.NewDecoder(strings.NewReader(details))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return maskUnparsed(details)
	}
	masked, changed := maskStrings(v)
	if !changed {
		return details
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(masked); err != nil {
		return "{}"
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// maskStrings masks the URLs in every string of a decoded JSON value.
func maskStrings(v any) (any, bool) {
	changed := false
	switch x := v.(type) {
	case string:
		m := MaskText(x, "")
		return m, m != x
	case []any:
		for i, e := range x {
			var c bool
			x[i], c = maskStrings(e)
			changed = changed || c
		}
	case map[string]any:
		for k, e := range x {
			var c bool
			x[k], c = maskStrings(e)
			changed = changed || c
		}
	}
	return v, changed
}
