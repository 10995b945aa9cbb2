package webhooks

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestValidateURL(t *testing.T) {
	t.Parallel()
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	for i, tc := range []struct {
		url     string
		allowed []netip.Prefix
		want    error
	}{
		{"https://example.com/hooks?x=1", nil, nil},
		{"http://example.com:8080/", nil, nil},
		{"https://93.184.216.34/hook", nil, nil},
		{"https://[2606:2800:220:1:248:1893:25c8:1946]/", nil, nil},
		{"https://localhost/", nil, nil}, // a name: refused when it resolves, at connect time
		{"", nil, ErrInvalidURL},
		{"example.com/hook", nil, ErrInvalidURL},
		{"ftp://example.com/", nil, ErrInvalidURL},
		{"javascript:alert(1)", nil, ErrInvalidURL},
		{"http:example.com", nil, ErrInvalidURL},
		{"https://", nil, ErrInvalidURL},
		{"https://:443/", nil, ErrInvalidURL},
		{"https://user:pass@example.com/", nil, ErrInvalidURL},
		{"https://user@example.com/", nil, ErrInvalidURL},
		{"https://example.com:0/", nil, ErrInvalidURL},
		{"https://example.com:99999/", nil, ErrInvalidURL},
		{"https://example.com/%zz", nil, ErrInvalidURL},
		{"https://example.com/" + strings.Repeat("a", MaxURLLength), nil, ErrInvalidURL},
		{"http://127.0.0.1/", nil, ErrURLNotAllowed},
		{"http://127.0.0.1:8080/hook", nil, ErrURLNotAllowed},
		{"http://[::1]/", nil, ErrURLNotAllowed},
		{"http://10.0.0.1/", nil, ErrURLNotAllowed},
		{"http://172.16.5.4/", nil, ErrURLNotAllowed},
		{"http://192.168.1.1/", nil, ErrURLNotAllowed},
		{"http://100.64.0.1/", nil, ErrURLNotAllowed},
		{"http://169.254.169.254/latest/meta-data", nil, ErrURLNotAllowed},
		{"http://0.0.0.0/", nil, ErrURLNotAllowed},
		{"http://224.0.0.1/", nil, ErrURLNotAllowed},
		{"http://255.255.255.255/", nil, ErrURLNotAllowed},
		{"http://[fe80::1]/", nil, ErrURLNotAllowed},
		{"http://[fc00::1]/", nil, ErrURLNotAllowed},
		{"http://[::]/", nil, ErrURLNotAllowed},
		{"http://[::ffff:127.0.0.1]/", nil, ErrURLNotAllowed},
		{"http://[ff02::1]/", nil, ErrURLNotAllowed},
		{"http://127.0.0.1/", loopback, nil},
		{"http://[::1]/", loopback, nil},
		{"http://[::ffff:127.0.0.1]/", loopback, nil},
		{"http://10.0.0.1/", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, nil},
		{"http://10.0.0.1/", loopback, ErrURLNotAllowed},
		{"http://100.64.0.1/", all, nil},
		{"http://169.254.169.254/", all, nil},
	} {
		err := ValidateURL(tc.url, tc.allowed)
		if tc.want == nil {
			if err != nil {
				t.Errorf("#%d: ValidateURL(%q, %v) = %v, want nil", i, tc.url, tc.allowed, err)
			}
			continue
		}
		var ue *URLError
		if !errors.Is(err, tc.want) || !errors.As(err, &ue) || ue.Reason == "" {
			t.Errorf("#%d: ValidateURL(%q, %v) = %v, want a *URLError wrapping %v", i, truncate(tc.url), tc.allowed, err, tc.want)
		}
	}
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func TestGuardRefusesSpecialAddressesAtConnect(t *testing.T) {
	t.Parallel()
	refused := []string{"127.0.0.1:80", "127.1.2.3:443", "[::1]:8080", "10.0.0.1:80", "100.64.0.1:80",
		"169.254.169.254:80", "0.0.0.0:80", "224.0.0.1:80", "192.168.0.10:80", "[fe80::1]:80", "[::ffff:10.0.0.1]:80",
		"198.18.0.1:80", "[64:ff9b::7f00:1]:80"}
	deny := newGuard(nil)
	allow := newGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("224.0.0.0/4"), netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("64:ff9b::/96")})
	for _, addr := range refused {
		network := "tcp4"
		if strings.HasPrefix(addr, "[") {
			network = "tcp6"
		}
		if err := deny.control(network, addr, nil); err == nil {
			t.Errorf("connect to %s allowed without an allow-list", addr)
		}
		if err := allow.control(network, addr, nil); err != nil {
			t.Errorf("connect to %s refused despite the allow-list: %v", addr, err)
		}
	}
	for _, addr := range []string{"93.184.216.34:443", "93.184.216.34:8443", "[2606:2800:220:1:248:1893:25c8:1946]:443"} {
		network := map[bool]string{true: "tcp6", false: "tcp4"}[strings.HasPrefix(addr, "[")]
		if err := deny.control(network, addr, nil); err != nil {
			t.Errorf("connect to public %s refused: %v", addr, err)
		}
	}
	if err := deny.control("udp4", "93.184.216.34:53", nil); err == nil {
		t.Errorf("UDP allowed")
	}
}

func TestClientRefusesLoopbackUnlessAllowed(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	port := rc.Server().Listener.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()
	urls := []string{rc.url("/literal"), fmt.Sprintf("http://localhost:%d/name", port)}
	post := func(c *http.Client, url string) error {
		resp, err := c.Post(url, "application/json", strings.NewReader("{}"))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	denied := NewClient(nil)
	for _, u := range urls {
		err := post(denied, u)
		if err == nil || !strings.Contains(err.Error(), "prohibited IP") {
			t.Errorf("POST %s without an allow-list: %v, want a prohibited IP error", u, err)
		}
	}
	if rc.count() != 0 {
		t.Fatalf("the receiver got %d requests from a refusing client", rc.count())
	}
	allowed := NewClient([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	for _, u := range urls {
		if err := post(allowed, u); err != nil {
			t.Errorf("POST %s with 127.0.0.0/8 allowed: %v", u, err)
		}
	}
	if rc.count() != 2 {
		t.Errorf("the receiver got %d requests, want 2", rc.count())
	}
}

func TestClientUsesNoProxyAndFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	c := NewClient(nil)
	if tr, ok := c.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Errorf("the transport uses a proxy from the environment")
	}
	target := newReceiver(t, nil)
	redirect := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, target.url("/"), http.StatusTemporaryRedirect)
	})
	b := setup(t)
	b.endpoint(redirect.url("/"))
	b.start(b.config())
	id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
	b.waitStatus(id, StatusPending, 1)
	a := b.attempts(id)[0]
	if deref(a.StatusCode) != http.StatusTemporaryRedirect || !strings.Contains(deref(a.Error), "redirect") {
		t.Errorf("attempt %d %q, want a failed 307", deref(a.StatusCode), deref(a.Error))
	}
	if target.count() != 0 {
		t.Errorf("the redirect was followed")
	}
}

func TestDispatcherRecordsRefusedAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.AllowedCIDRs = nil
	b.start(cfg)
	id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
	b.waitStatus(id, StatusPending, 1)
	a := b.attempts(id)[0]
	if a.StatusCode != nil || !strings.Contains(deref(a.Error), "prohibited IP address") || strings.Contains(deref(a.Error), "Post ") {
		t.Errorf("attempt status %v error %q, want no status and the refused address", a.StatusCode, deref(a.Error))
	}
	if rc.count() != 0 {
		t.Errorf("the receiver got %d requests", rc.count())
	}
}

func TestParseCIDRsAndRetrySchedule(t *testing.T) {
	t.Parallel()
	got, err := ParseCIDRs(" 127.0.0.0/8, ::1 ,10.1.2.3/8")
	if err != nil || len(got) != 3 || got[1].String() != "::1/128" || got[2].String() != "10.0.0.0/8" {
		t.Errorf("ParseCIDRs = %v, %v", got, err)
	}
	if _, err := ParseCIDRs("127.0.0.0/33"); err == nil {
		t.Errorf("ParseCIDRs accepted a /33")
	}
	s, err := ParseRetrySchedule("5s, 5m,30m,2h")
	if err != nil || len(s) != 4 || s[3] != 2*time.Hour {
		t.Errorf("ParseRetrySchedule = %v, %v", s, err)
	}
	for _, bad := range []string{"5x", "-1s"} {
		if _, err := ParseRetrySchedule(bad); err == nil {
			t.Errorf("ParseRetrySchedule(%q) succeeded", bad)
		}
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	s := NewSecret()
	if !strings.HasPrefix(s, "whsec_") || len(s) != len("whsec_")+44 || NewSecret() == s {
		t.Fatalf("NewSecret() = %q, want whsec_ and the base64 of 32 random bytes", s)
	}
	at := time.Unix(1_700_000_000, 0)
	body := []byte(`{"type":"webhook.test"}`)
	sig, err := Sign("msg_1", at, body, s)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1700000000"}, "Webhook-Signature": {sig}}
	if err := verify(s, body, h); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	if err := verify(NewSecret(), body, h); err == nil {
		t.Errorf("signature verifies with another secret")
	}
	for _, bad := range []string{"", "secret", "whsec_!!!"} {
		if _, err := Sign("msg_1", at, body, bad); err == nil {
			t.Errorf("Sign with secret %q succeeded", bad)
		}
	}
}
