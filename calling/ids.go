package calling

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Kind names the type of object a global ID points at; the values are the
// GraphQL type names.
type Kind string

// The kinds of global IDs.
const (
	KindPhoneNumber     Kind = "PhoneNumber"
	KindQueue           Kind = "Queue"
	KindCapacityProfile Kind = "CapacityProfile"
	KindOutboundProfile Kind = "OutboundProfile"
	KindAgent           Kind = "Agent"
	KindAPIToken        Kind = "ApiToken"
	KindAuditEntry      Kind = "AuditEntry"
	KindWebhookEndpoint Kind = "WebhookEndpoint"
	KindWebhookEvent    Kind = "WebhookEvent"
	KindWebhookDelivery Kind = "WebhookDelivery"
)

var kinds = map[Kind]bool{
	KindPhoneNumber: true, KindQueue: true, KindCapacityProfile: true, KindOutboundProfile: true,
	KindAgent: true, KindAPIToken: true, KindAuditEntry: true, KindWebhookEndpoint: true,
	KindWebhookEvent: true, KindWebhookDelivery: true,
}

// ErrBadID is returned for a string that is not a global ID (of the
// expected kind).
var ErrBadID = errors.New("not a valid ID")

// GlobalID returns the opaque global ID of the object of kind with database
// key id: base64url of "Kind:id".
func GlobalID(kind Kind, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(kind) + ":" + strconv.FormatInt(id, 10)))
}

// ParseGlobalID returns the kind and database key of a global ID. Only the
// ID GlobalID makes is one: any other spelling of it is ErrBadID.
func ParseGlobalID(s string) (Kind, int64, error) {
	if len(s) > 64 {
		return "", 0, ErrBadID
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", 0, ErrBadID
	}
	k, n, ok := strings.Cut(string(raw), ":")
	if !ok || !kinds[Kind(k)] {
		return "", 0, ErrBadID
	}
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil || id <= 0 || GlobalID(Kind(k), id) != s {
		// One object, one ID: the decoder would also take line breaks,
		// padding, other final bits and numbers such as +3 or 007.
		return "", 0, ErrBadID
	}
	return Kind(k), id, nil
}

// ParseID returns the database key of a global ID of the given kind.
func ParseID(kind Kind, s string) (int64, error) {
	k, id, err := ParseGlobalID(s)
	if err != nil || k != kind {
		return 0, ErrBadID
	}
	return id, nil
}
