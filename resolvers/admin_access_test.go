package resolvers_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"outdial/internal/testenv"
)

// Acceptance tests of admin access through the API: at least one ADMIN
// token works at all times (issue 13, "The last ADMIN can lock everyone
// out"). What a restart does with the bootstrap token is tested with the
// whole program (admin_access_test.go at the root).

// TestLastAdminCannotBeRevoked: revoking the last active ADMIN token is
// refused with LAST_ADMIN (nothing written) however the others stand:
// alone, beside VIEWER and AGENT tokens, after the bootstrap token was
// revoked; revoking an ADMIN while another stays, and revoking a revoked
// one, still work.
func TestLastAdminCannotBeRevoked(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	boot := e.Tokens(e.Admin)["bootstrap"]

	// The bootstrap token alone: it may not revoke itself.
	ue := e.Refused("LAST_ADMIN", "revokeApiToken", testenv.RevokeToken, map[string]any{"id": boot.ID})
	if strings.Join(ue.Field, ".") != "input.id" || !strings.Contains(ue.Message, `"bootstrap" is the last active ADMIN token`) ||
		!strings.Contains(ue.Message, "createApiToken") {
		t.Errorf("LAST_ADMIN refusal = %+v; want field input.id and a message naming the token and the way out", ue)
	}
	// VIEWER and AGENT tokens are no ADMIN: still the last one.
	aiko := e.CreateAgentID("Aiko", "aiko@example.com", true)
	e.Token("dashboard", "VIEWER", "")
	e.Token("aiko's app", "AGENT", aiko)
	e.Refused("LAST_ADMIN", "revokeApiToken", testenv.RevokeToken, map[string]any{"id": boot.ID})
	if !e.Works(e.Admin) || e.Tokens(e.Admin)["bootstrap"].Revoked {
		t.Fatalf("the refused revocation revoked the bootstrap token")
	}

	// With a second ADMIN, the bootstrap token goes; then the second is
	// the last one, whichever token asks.
	aliceID, alice := e.Token("alice", "ADMIN", "")
	if errs := e.RevokeTokenAs(alice, boot.ID); len(errs) > 0 {
		t.Fatalf("alice revoking bootstrap: %+v", errs)
	}
	if e.Works(e.Admin) {
		t.Fatalf("the revoked bootstrap token still works")
	}
	e.RefusedAs(alice, "LAST_ADMIN", "revokeApiToken", testenv.RevokeToken, map[string]any{"id": aliceID})
	// Revoking a revoked ADMIN changes nothing and is no error, even now.
	if errs := e.RevokeTokenAs(alice, boot.ID); len(errs) > 0 {
		t.Fatalf("revoking the revoked bootstrap token again: %+v", errs)
	}
	// An ADMIN may revoke itself while another stays.
	bobID, bob := e.TokenAs(alice, "bob", "ADMIN")
	if errs := e.RevokeTokenAs(alice, aliceID); len(errs) > 0 {
		t.Fatalf("alice revoking herself beside bob: %+v", errs)
	}
	e.RefusedAs(bob, "LAST_ADMIN", "revokeApiToken", testenv.RevokeToken, map[string]any{"id": bobID})
	if !e.Works(bob) {
		t.Fatalf("bob, the last ADMIN, does not work")
	}
}

// TestLastAdminUnderConcurrentRevocations: ADMIN tokens revoking each
// other, or each itself, at the same moment (two or three of them) always
// leave exactly one of them active: the revocations are serialised, the
// last one is refused with LAST_ADMIN, and a token revoked while its
// request waited changes nothing (UNAUTHENTICATED).
func TestLastAdminUnderConcurrentRevocations(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	boot := e.Tokens(e.Admin)["bootstrap"]
	survivorID, survivor := e.Token("admin-0", "ADMIN", "")
	if errs := e.RevokeTokenAs(survivor, boot.ID); len(errs) > 0 {
		t.Fatalf("revoke bootstrap: %+v", errs)
	}
	outcomes := map[string]int{}
	for round := 1; round <= 8; round++ {
		// Two (even rounds) or three (odd rounds) ADMIN tokens, each
		// revoking the next, or itself, at once.
		self := (round/2)%2 == 1
		ids, values := []string{survivorID}, []string{survivor}
		for i := 1; i < 2+round%2; i++ {
			id, v := e.TokenAs(survivor, fmt.Sprintf("admin-%d-%d", round, i), "ADMIN")
			ids, values = append(ids, id), append(values, v)
		}
		answers := make([]testenv.Response, len(ids))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				<-start
				target := ids[(i+1)%len(ids)]
				if self {
					target = ids[i]
				}
				answers[i] = e.Post(values[i], testenv.RevokeToken, map[string]any{"id": target})
			})
		}
		close(start)
		wg.Wait()

		active := 0
		for i, v := range values {
			if e.Works(v) {
				active++
				survivor, survivorID = v, ids[i]
			}
		}
		if active != 1 {
			t.Fatalf("round %d: %d of %d ADMIN tokens active after revoking each other at once; want 1\nanswers: %+v", round, active, len(ids), answers)
		}
		for i, a := range answers {
			outcome := a.Code()
			if a.Status == http.StatusOK && len(a.Errors) == 0 {
				outcome = "revoked"
				if strings.Contains(string(a.Data), `"LAST_ADMIN"`) {
					outcome = "LAST_ADMIN"
				}
			}
			if outcome != "revoked" && outcome != "LAST_ADMIN" && outcome != "UNAUTHENTICATED" {
				t.Fatalf("round %d: request %d answered HTTP %d %+v %s; want success, LAST_ADMIN or UNAUTHENTICATED", round, i, a.Status, a.Errors, a.Data)
			}
			outcomes[outcome]++
		}
	}
	t.Logf("outcomes of the concurrent revocations: %v", outcomes)
	if outcomes["LAST_ADMIN"] == 0 {
		t.Errorf("no revocation was refused as the last ADMIN's: the rounds did not test the rule")
	}
}
