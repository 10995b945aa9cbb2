package calling

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"outdial/models"
)

// tokenPrefix starts every generated token, so that leaked tokens are easy
// to recognise (secret scanners).
const tokenPrefix = "odt_"

// MaxTokenLength is the length in bytes of the longest bearer token
// Authenticate accepts.
const MaxTokenLength = 512

// lastUsedGranularity bounds how often lastUsedAt is written for a token:
// at most once per minute, so that reads stay reads.
const lastUsedGranularity = time.Minute

// HashToken returns the stored form of a bearer token: hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// newToken returns a new random bearer token.
func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Authenticate returns the actor of a bearer token. It returns
// ErrUnauthenticated for an empty, unknown or revoked token.
func (s *Service) Authenticate(ctx context.Context, token string) (Actor, error) {
	if token == "" || len(token) > MaxTokenLength {
		return Actor{}, ErrUnauthenticated
	}
	var row models.APIToken
	err := s.db.WithContext(ctx).Where("token_hash = ?", HashToken(token)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Actor{}, ErrUnauthenticated
	}
	if err != nil {
		return Actor{}, fmt.Errorf("look up token: %w", err)
	}
	if row.RevokedAt != nil {
		return Actor{}, ErrUnauthenticated
	}
	now := s.now()
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= lastUsedGranularity {
		err := s.db.WithContext(ctx).Model(&models.APIToken{}).Where("id = ?", row.ID).Update("last_used_at", now).Error
		if err != nil {
			s.log.Warn("could not record token use", "token", row.Name, "err", err)
		}
	}
	return Actor{TokenID: row.ID, Name: row.Name, Role: Role(row.Role), AgentID: row.AgentID, tokenHash: row.TokenHash}, nil
}

// StillAuthenticated reports whether the token a was authenticated with
// still is what it was: neither revoked nor, for the bootstrap token,
// re-keyed. It is for what lives longer than a request (a subscription).
// An actor not made by Authenticate always is.
func (s *Service) StillAuthenticated(ctx context.Context, a Actor) (bool, error) {
	return stillValid(s.db.WithContext(ctx), a)
}

// stillValid reports whether a's token still is what it was when it was
// authenticated, reading through db (a transaction, or not).
func stillValid(db *gorm.DB, a Actor) (bool, error) {
	if a.tokenHash == "" {
		return true, nil
	}
	var n int64
	err := db.Model(&models.APIToken{}).
		Where("id = ? AND token_hash = ? AND revoked_at IS NULL", a.TokenID, a.tokenHash).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("check token: %w", err)
	}
	return n == 1, nil
}

// CreateAPITokenInput is the input of CreateAPIToken.
type CreateAPITokenInput struct {
	Name    string
	Role    Role
	AgentID *int64
}

// CreateAPIToken creates a token and returns it with its value, which is
// shown only here (only its hash is stored). AGENT tokens name their
// agent; other roles must not. Refusals: INVALID_INPUT, NOT_FOUND,
// ALREADY_EXISTS, QUOTA_EXCEEDED (MaxStaffTokens, MaxAgentTokens).
func (s *Service) CreateAPIToken(ctx context.Context, actor Actor, in CreateAPITokenInput) (*models.APIToken, string, error) {
	var c checker
	name := cleanName(&c, in.Name, "name")
	switch in.Role {
	case RoleAgent:
		c.check(in.AgentID != nil, CodeInvalidInput, "An AGENT token needs an agentId.", "agentId")
	case RoleAdmin, RoleViewer:
		c.check(in.AgentID == nil, CodeInvalidInput, "Only AGENT tokens have an agentId.", "agentId")
	default:
		c.add(refuse(CodeInvalidInput, "The role is ADMIN, VIEWER or AGENT.", "role"))
	}
	if err := c.err(); err != nil {
		return nil, "", err
	}
	value := newToken()
	row := models.APIToken{Name: name, NameKey: nameKey(name), Role: string(in.Role), AgentID: in.AgentID, TokenHash: HashToken(value)}
	var tok *models.APIToken
	err := s.run(ctx, actor, "createApiToken", func(t *txn) (outcome, error) {
		// A fresh row each attempt: an attempt rolled back may have set its ID.
		fresh := row
		tok = &fresh
		if in.AgentID != nil {
			if _, err := find[models.Agent](t, *in.AgentID, "agent", "agentId"); err != nil {
				return outcome{}, err
			}
		}
		if err := checkTokenQuota(t, in.Role, in.AgentID); err != nil {
			return outcome{}, err
		}
		if err := uniqueName(t, "api_tokens", "token", tok.NameKey, 0); err != nil {
			return outcome{}, err
		}
		tok.CreatedAt = t.now
		if err := insert(t, tok, "token"); err != nil {
			return outcome{}, err
		}
		d := map[string]any{"name": tok.Name, "role": tok.Role}
		if tok.AgentID != nil {
			d["agentId"] = GlobalID(KindAgent, *tok.AgentID)
		}
		return outcome{target: GlobalID(KindAPIToken, tok.ID), details: d}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return tok, value, nil
}

// RevokeAPIToken revokes a token at once (a no-op when it already is).
// Refusals: NOT_FOUND, LAST_ADMIN (the token is the last active ADMIN
// token).
func (s *Service) RevokeAPIToken(ctx context.Context, actor Actor, id int64) (*models.APIToken, error) {
	var tok *models.APIToken
	err := s.run(ctx, actor, "revokeApiToken", func(t *txn) (outcome, error) {
		var err error
		if tok, err = find[models.APIToken](t, id, "API token", "id"); err != nil {
			return outcome{}, err
		}
		if err := checkNotLastAdmin(t, tok); err != nil {
			return outcome{}, err
		}
		if tok.RevokedAt == nil {
			tok.RevokedAt = &t.now
			if err := t.tx.Model(tok).Update("revoked_at", t.now).Error; err != nil {
				return outcome{}, fmt.Errorf("revoke token: %w", err)
			}
		}
		return outcome{target: GlobalID(KindAPIToken, tok.ID), details: map[string]any{"name": tok.Name}}, nil
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}
