package resolvers

import (
	"context"
	"time"

	"outdial/calling"
	"outdial/graph"
	"outdial/graph/model"
)

// The fields whose value depends on who reads them (the rules are in
// calling/redact.go). Each object type reaches the client only through
// these, whichever query or mutation returned it.

func (r *Resolver) AuditEntry() graph.AuditEntryResolver { return &auditEntryResolver{r} }

type auditEntryResolver struct{ *Resolver }

// LastUsedAt is null for a token the caller may not watch.
func (r *apiTokenResolver) LastUsedAt(ctx context.Context, obj *model.APIToken) (*time.Time, error) {
	if a, ok := actorFrom(ctx); !ok || !calling.SeesLastUsed(a, obj.DBID) {
		return nil, nil
	}
	return obj.LastUsedAt, nil
}

// Details are the entry's details as the caller may read them
// (calling.AuditDetailsFor).
func (r *auditEntryResolver) Details(ctx context.Context, obj *model.AuditEntry) (string, error) {
	a, _ := actorFrom(ctx)
	return calling.AuditDetailsFor(a, obj.Details), nil
}

// URL masks an endpoint's URL for a VIEWER.
func (r *endpointResolver) URL(ctx context.Context, obj *model.WebhookEndpoint) (string, error) {
	if a, ok := actorFrom(ctx); ok && calling.SeesURLSecrets(a) {
		return obj.URL, nil
	}
	return calling.MaskURL(obj.URL), nil
}

// maskAttempts masks, for a VIEWER, the URLs and the secrets of the
// endpoint's URL in the error and answer of attempts made to endpointID.
func maskAttempts(ctx context.Context, endpointID int64, attempts []*model.WebhookAttempt) ([]*model.WebhookAttempt, error) {
	if a, ok := actorFrom(ctx); ok && calling.SeesURLSecrets(a) {
		return attempts, nil
	}
	ep, err := loadersFrom(ctx).endpoint.Load(ctx, endpointID)
	if err != nil {
		return nil, err
	}
	url := ""
	if ep != nil {
		url = ep.URL
	}
	mask := func(s *string) *string {
		if s == nil {
			return nil
		}
		m := calling.MaskText(*s, url)
		return &m
	}
	for _, at := range attempts {
		at.Error, at.ResponseBody = mask(at.Error), mask(at.ResponseBody)
	}
	return attempts, nil
}
