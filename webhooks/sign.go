package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// secretPrefix starts every signing secret (Standard Webhooks).
const secretPrefix = "whsec_"

// NewSecret returns a new signing secret: "whsec_" followed by the base64
// of 32 random bytes.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// signer signs bodies with one or more secrets of an endpoint: its current
// secret and, during a rotation's overlap, the previous one. Signatures are
// computed by the Standard Webhooks library.
type signer []*standardwebhooks.Webhook

// newSigner returns a signer for secrets, skipping empty ones. It returns
// an error when a secret is not "whsec_" and base64.
func newSigner(secrets ...string) (signer, error) {
	var s signer
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if !strings.HasPrefix(secret, secretPrefix) {
			return nil, fmt.Errorf("signing secret does not start with %s", secretPrefix)
		}
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, fmt.Errorf("signing secret: %w", err)
		}
		s = append(s, wh)
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("no signing secret")
	}
	return s, nil
}

// sign returns the webhook-signature header of a message: one "v1,<sig>"
// per secret, separated by spaces.
func (s signer) sign(msgID string, at time.Time, body []byte) (string, error) {
	sigs := make([]string, len(s))
	for i, wh := range s {
		sig, err := wh.Sign(msgID, at, body)
		if err != nil {
			return "", err
		}
		sigs[i] = sig
	}
	return strings.Join(sigs, " "), nil
}

// Sign returns the webhook-signature header value of the message msgID
// sent at at with body, signed by each of secrets ("v1,<base64>" each,
// separated by spaces). It returns an error when a secret is malformed or
// none is given.
func Sign(msgID string, at time.Time, body []byte, secrets ...string) (string, error) {
	s, err := newSigner(secrets...)
	if err != nil {
		return "", err
	}
	return s.sign(msgID, at, body)
}
