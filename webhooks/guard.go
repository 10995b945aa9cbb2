package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"code.dny.dev/ssrf"
)

// MaxURLLength is the longest webhook URL accepted, in characters.
const MaxURLLength = 2048

// The two kinds of refused webhook URL. A *URLError wraps one of them:
// errors.Is(err, ErrInvalidURL) maps to the user error code INVALID_URL,
// errors.Is(err, ErrURLNotAllowed) to URL_NOT_ALLOWED.
var (
	ErrInvalidURL    = errors.New("invalid webhook URL")
	ErrURLNotAllowed = errors.New("webhook URL not allowed")
)

// URLError says why a webhook URL was refused. Kind is ErrInvalidURL or
// ErrURLNotAllowed; Reason is a sentence for the user.
type URLError struct {
	Kind   error
	Reason string
}

// Error returns the reason.
func (e *URLError) Error() string { return e.Kind.Error() + ": " + e.Reason }

// Unwrap returns Kind, so that errors.Is works.
func (e *URLError) Unwrap() error { return e.Kind }

func invalidURL(format string, args ...any) error {
	return &URLError{Kind: ErrInvalidURL, Reason: fmt.Sprintf(format, args...)}
}

// ValidateURL checks a webhook URL before it is stored: http or https, a
// host, no user name or password, a valid port, at most MaxURLLength
// characters.
// When the host is a literal IP address, that address must be one the
// dispatcher may connect to (see NewClient) or lie in allowed. It returns
// a *URLError wrapping ErrInvalidURL or ErrURLNotAllowed. Host names are
// checked after DNS resolution, when an attempt connects.
func ValidateURL(raw string, allowed []netip.Prefix) error {
	if n := utf8.RuneCountInString(raw); n > MaxURLLength {
		return invalidURL("a URL has at most %d characters; this one has %d", MaxURLLength, n)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalidURL("the URL cannot be parsed")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return invalidURL("the URL must start with https:// or http://")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return invalidURL("the URL has no host")
	}
	if u.User != nil {
		return invalidURL("the URL must not contain a user name or password")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalidURL("the URL's port is not between 1 and 65535")
		}
	}
	addr, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil // a host name: checked when it resolves
	}
	if err := newGuard(allowed).check(addr); err != nil {
		return &URLError{Kind: ErrURLNotAllowed,
			Reason: fmt.Sprintf("%s is a loopback, private, link-local or other special-purpose address", addr)}
	}
	return nil
}

// guard refuses connections to special-purpose addresses (IANA registries,
// through code.dny.dev/ssrf) unless they lie in the allow-list.
type guard struct {
	allowed  []netip.Prefix
	guardian *ssrf.Guardian
}

// newGuard returns a guard that lets the prefixes of allowed through.
func newGuard(allowed []netip.Prefix) *guard {
	return &guard{allowed: allowed, guardian: ssrf.New(ssrf.WithAnyPort(), ssrf.WithNetworks("tcp4", "tcp6"))}
}

// check returns an error wrapping ssrf.ErrProhibitedIP unless addr may be
// connected to. An IPv4-mapped IPv6 address is judged as the IPv4 address.
func (g *guard) check(addr netip.Addr) error {
	addr = addr.Unmap().WithZone("")
	for _, p := range g.allowed {
		if p.Contains(addr) {
			return nil
		}
	}
	if err := g.guardian.SafeAddr(addr); err != nil {
		return fmt.Errorf("%w (not in WEBHOOK_ALLOWED_CIDRS)", err)
	}
	return nil
}

// control is the net.Dialer Control hook: it runs after DNS resolution,
// before every connect, and refuses forbidden addresses.
func (g *guard) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: %s", ssrf.ErrProhibitedNetwork, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ssrf.ErrInvalidHostPort, address)
	}
	return g.check(ap.Addr())
}

// newTransport returns a transport that dials through the guard, never
// uses a proxy and keeps up to idlePerHost connections per host alive.
func newTransport(allowed []netip.Prefix, dialTimeout time.Duration, idlePerHost int) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: newGuard(allowed).control}
	return &http.Transport{
		Proxy:                 nil, // never a proxy: it would connect for us, past the guard
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * idlePerHost,
		MaxIdleConnsPerHost:   idlePerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   dialTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// NewClient returns the HTTP client webhooks are sent with: no proxy,
// redirects not followed (a 3xx comes back as the response), and every
// connection refused after DNS resolution when the address is loopback,
// private, link-local, CGNAT, multicast, unspecified or of another special
// purpose, unless it lies in allowed. Any port is allowed. Callers set
// per-request timeouts with the request's context.
func NewClient(allowed []netip.Prefix) *http.Client {
	return newClient(newTransport(allowed, 10*time.Second, 64))
}

func newClient(t *http.Transport) *http.Client {
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ParseCIDRs parses a comma-separated list of CIDR prefixes (the
// WEBHOOK_ALLOWED_CIDRS setting); a bare address is taken as a /32 or
// /128. It returns an error naming the first entry that does not parse.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("allowed CIDR %q: %w", part, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("allowed CIDR %q: %w", part, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
