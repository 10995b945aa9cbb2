package webhooks

import (
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestSignMatchesTheLibrary checks the signer against the Standard
// Webhooks library, byte for byte, with one secret and with two.
func TestSignMatchesTheLibrary(t *testing.T) {
	t.Parallel()
	secrets := []string{NewSecret(), NewSecret()}
	at := time.Unix(1_700_000_123, 0)
	for i, body := range [][]byte{nil, []byte(`{"type":"webhook.test"}`), []byte(strings.Repeat("é", 5000))} {
		var want []string
		for _, secret := range secrets {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := wh.Sign("msg_2ab4c6d8e0f2g4h6j8k0m2n4p6", at, body)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, sig)
			got, err := Sign("msg_2ab4c6d8e0f2g4h6j8k0m2n4p6", at, body, secrets[:len(want)]...)
			if err != nil {
				t.Fatal(err)
			}
			if w := strings.Join(want, " "); got != w {
				t.Errorf("#%d: Sign = %q, want %q", i, got, w)
			}
		}
	}
}
