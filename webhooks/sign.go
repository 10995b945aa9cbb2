package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
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
// secret and, during a rotation's overlap, the previous one.
type signer []*signingKey

// signingKey computes the Standard Webhooks signature with one secret:
// the base64 of the HMAC-SHA256 of "{id}.{timestamp}.{body}", as the
// standard-webhooks library does (the tests check it against that
// library), without its per-message allocations: the keyed HMAC states
// are reused and the body is hashed in place, not copied into one string
// with the rest first.
type signingKey struct {
	macs sync.Pool // of *macState keyed with the secret
}

// macState is an HMAC keyed with one secret and room for the signed
// content's head, "{id}.{timestamp}.", and for the sum.
type macState struct {
	h    hash.Hash
	head []byte
	sum  [sha256.Size]byte
}

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
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
		if err != nil {
			return nil, fmt.Errorf("signing secret: %w", err)
		}
		k := &signingKey{}
		k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, key)} }
		s = append(s, k)
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("no signing secret")
	}
	return s, nil
}

// sign returns the webhook-signature header of a message: one "v1,<sig>"
// per secret, separated by spaces.
func (s signer) sign(msgID string, at time.Time, body []byte) string {
	const sigLen = len("v1,") + 44 // base64 of 32 bytes
	out := make([]byte, 0, len(s)*(sigLen+1))
	for i, k := range s {
		if i > 0 {
			out = append(out, ' ')
		}
		out = k.appendSignature(out, msgID, at.Unix(), body)
	}
	return string(out)
}

// appendSignature appends "v1," and the base64 HMAC of
// "{msgID}.{unix}.{body}" to dst.
func (k *signingKey) appendSignature(dst []byte, msgID string, unix int64, body []byte) []byte {
	m := k.macs.Get().(*macState)
	defer k.macs.Put(m)
	m.head = append(m.head[:0], msgID...)
	m.head = append(m.head, '.')
	m.head = strconv.AppendInt(m.head, unix, 10)
	m.head = append(m.head, '.')
	m.h.Reset()
	_, _ = m.h.Write(m.head)
	_, _ = m.h.Write(body)
	dst = append(dst, "v1,"...)
	return base64.StdEncoding.AppendEncode(dst, m.h.Sum(m.sum[:0]))
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
	return s.sign(msgID, at, body), nil
}
