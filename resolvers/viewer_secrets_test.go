package resolvers_test

import (
	"net/http"
	"net/http/httptest"
	"outdial/internal/testenv"
	"strings"
	"testing"
	"time"
)

// Acceptance tests of what a VIEWER reads (issue 13, "What a VIEWER may
// see"): webhook URLs with their query values, user information and
// fragment masked wherever they appear, and no other token's lastUsedAt;
// ADMIN tokens, and AGENT tokens for their own endpoints, read them whole.

// viewerSecrets are the secrets the endpoints of TestViewerSeesNoSecrets
// carry in their URLs.
var viewerSecrets = []string{"hunter22", "sales%20east", "swordfish9", "olduser", "oldpass", "tok-legacy-9", "agentsecret77", "frag-secret"}

// viewerQueries read every place a webhook URL, a text quoting it, or a
// token's lastUsedAt appears.
var viewerQueries = map[string]string{
	"webhookEndpoints": `{ webhookEndpoints(first: 10) { nodes { id url deliveries(first: 10) { nodes { endpoint { url }
		attempts { error responseBody } } } } } }`,
	"webhookDeliveries": `{ webhookDeliveries(first: 100) { nodes { endpoint { url } attempts { error responseBody } } } }`,
	"auditLog":          `{ auditLog(first: 100) { nodes { action details } } }`,
	"apiTokens":         `{ apiTokens(first: 100) { nodes { name lastUsedAt } } viewer { token { name lastUsedAt } } }`,
}

// TestViewerSeesNoSecrets: a VIEWER reads endpoint URLs (list, node,
// nodes, through a delivery), audit details of every endpoint command, and
// delivery attempts whose error or answer quotes the URL or its query,
// with every secret masked, and no other token's lastUsedAt; an ADMIN
// reads all of it whole, an AGENT token its own endpoint's URL.
func TestViewerSeesNoSecrets(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	// A receiver that quotes the request it could not route, as many do.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no route for POST "+r.URL.RequestURI(), http.StatusInternalServerError)
	}))
	t.Cleanup(echo.Close)
	aiko := e.CreateAgentID("Aiko", "aiko@example.com", true)
	_, viewer := e.Token("dashboard", "VIEWER", "")
	_, other := e.Token("other dashboard", "VIEWER", "")
	_, app := e.Token("aiko's app", "AGENT", aiko)

	secretEP := e.EndpointAs(e.Admin, echo.URL+"/in?password=hunter22&team=sales%20east#frag-secret")
	e.EndpointAs(e.Admin, echo.URL+"/plain")
	legacy := e.EndpointAs(e.Admin, echo.URL+"/legacy?token=tok-legacy-9")
	e.MustMutate("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": legacy, "url": echo.URL + "/legacy?token=swordfish9"}, nil)
	e.MustMutate("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": legacy, "url": echo.URL + "/legacy?token=tok-legacy-9"}, nil)
	gone := e.EndpointAs(e.Admin, echo.URL+"/gone?password=swordfish9")
	e.MustMutate("deleteWebhookEndpoint", testenv.DeleteEndpoint, map[string]any{"id": gone}, nil)
	e.EndpointAs(app, echo.URL+"/aiko?sig=agentsecret77")
	// Rows an older version may have written: user information in a URL
	// (refused today), an attempt error quoting the URL.
	legacyURL := strings.Replace(echo.URL, "http://", "http://olduser:oldpass@", 1) + "/legacy?token=tok-legacy-9"
	if err := e.App.DB.Exec("UPDATE webhook_endpoints SET url = ? WHERE url LIKE ?", legacyURL, "%/legacy%").Error; err != nil {
		t.Fatal(err)
	}

	// A test webhook to the secret endpoint: its attempts answer 500 and
	// quote the path and query.
	var sent struct{ WebhookDelivery testenv.IDOnly }
	e.MustMutate("sendTestWebhook", testenv.SendTest, map[string]any{"id": secretEP}, &sent)
	testenv.WaitUntil(t, "an attempt of the test webhook", testenv.WaitTimeout, func() bool {
		var data struct {
			WebhookDeliveries struct {
				Nodes []struct {
					Attempts []struct{ AttemptedAt string }
				}
			}
		}
		e.Query(`query($f: WebhookDeliveryFilter) { webhookDeliveries(first: 100, filter: $f) { nodes { attempts { attemptedAt } } } }`,
			map[string]any{"f": map[string]any{"endpointId": secretEP}}, &data)
		ds := data.WebhookDeliveries.Nodes
		return len(ds) == 1 && len(ds[0].Attempts) > 0
	})
	err := e.App.DB.Exec(`UPDATE webhook_attempts SET error = ? WHERE error IS NULL`,
		`Post "`+echo.URL+`/in?password=hunter22&team=sales%20east": EOF`).Error
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{viewer, other, app} {
		e.QueryAs(token, `{ viewer { role } }`, nil, nil) // every token was used
	}

	// The ADMIN reads every secret (so that the checks below mean
	// something), in every place.
	all := ""
	for name, q := range viewerQueries {
		r := e.Do(e.Admin, q, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("%s as ADMIN: %+v", name, r.Errors)
		}
		all += string(r.Data)
	}
	for _, s := range viewerSecrets {
		if !strings.Contains(all, s) {
			t.Errorf("the ADMIN does not read %q anywhere: the test lost a member", s)
		}
	}

	// The VIEWER reads none of them, and sees what was masked.
	for name, q := range viewerQueries {
		r := e.Do(viewer, q, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("%s as VIEWER: %+v", name, r.Errors)
		}
		for _, s := range viewerSecrets {
			if strings.Contains(string(r.Data), s) {
				t.Errorf("%s as VIEWER shows %q: %s", name, s, r.Data)
			}
		}
	}
	r := e.Do(viewer, `query($a: ID!, $b: ID!) { a: node(id: $a) { ... on WebhookEndpoint { url } }
		b: nodes(ids: [$a, $b]) { ... on WebhookEndpoint { url } } }`, map[string]any{"a": secretEP, "b": legacy})
	for _, want := range []string{
		`/in?password=REDACTED\u0026team=REDACTED#REDACTED"`,
		`"http://REDACTED@127.0.0.1:`, `/legacy?token=REDACTED"`,
	} {
		if !strings.Contains(string(r.Data), want) {
			t.Errorf("node/nodes as VIEWER lack %s: %s", want, r.Data)
		}
	}
	r = e.Do(viewer, `query($id: ID!) { node(id: $id) { ... on WebhookDelivery { attempts { error responseBody } } } }`,
		map[string]any{"id": sent.WebhookDelivery.ID})
	for _, want := range []string{`/in?password=REDACTED\u0026team=REDACTED\": EOF`, `no route for POST /in?password=REDACTED\u0026team=REDACTED`} {
		if !strings.Contains(string(r.Data), want) {
			t.Errorf("a delivery's attempts as VIEWER lack %s: %s", want, r.Data)
		}
	}
	r = e.Do(viewer, `{ auditLog(first: 100, filter: {action: "deleteWebhookEndpoint"}) { nodes { details } } }`, nil)
	if !strings.Contains(string(r.Data), `/gone?password=REDACTED`) {
		t.Errorf("audit details as VIEWER: %s", r.Data)
	}

	// The AGENT token reads its own endpoint whole.
	r = e.Do(app, `{ webhookEndpoints { nodes { url } } }`, nil)
	if !strings.Contains(string(r.Data), "?sig=agentsecret77") {
		t.Errorf("an AGENT token does not read its own endpoint's URL: %s", r.Data)
	}

	// lastUsedAt: the ADMIN reads every token's, the VIEWER its own only.
	lastUsed := func(token string) map[string]bool {
		var data struct {
			APITokens struct {
				Nodes []struct {
					Name       string
					LastUsedAt *time.Time
				}
			} `json:"apiTokens"`
			Viewer struct {
				Token struct{ LastUsedAt *time.Time }
			}
			Node struct{ LastUsedAt *time.Time }
		}
		boot := e.Tokens(e.Admin)["bootstrap"].ID
		e.QueryAs(token, `query($boot: ID!) { apiTokens(first: 100) { nodes { name lastUsedAt } } viewer { token { lastUsedAt } }
			node(id: $boot) { ... on ApiToken { lastUsedAt } } }`, map[string]any{"boot": boot}, &data)
		out := map[string]bool{"viewer.token": data.Viewer.Token.LastUsedAt != nil, "node(bootstrap)": data.Node.LastUsedAt != nil}
		for _, n := range data.APITokens.Nodes {
			out[n.Name] = n.LastUsedAt != nil
		}
		return out
	}
	want := map[string]bool{"bootstrap": true, "dashboard": true, "other dashboard": true, "aiko's app": true, "viewer.token": true, "node(bootstrap)": true}
	if got := lastUsed(e.Admin); !mapsEqual(got, want) {
		t.Errorf("lastUsedAt set as ADMIN = %v, want %v", got, want)
	}
	want = map[string]bool{"bootstrap": false, "dashboard": true, "other dashboard": false, "aiko's app": false, "viewer.token": true, "node(bootstrap)": false}
	if got := lastUsed(viewer); !mapsEqual(got, want) {
		t.Errorf("lastUsedAt set as VIEWER = %v, want %v", got, want)
	}
}

// mapsEqual reports whether a and b hold the same pairs.
func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
