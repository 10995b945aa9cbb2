package models_test

import (
	"context"
	"testing"

	"outdial/models"
	"outdial/models/dbtest"
)

func TestMigrateIsReadyAndIdempotent(t *testing.T) {
	db := dbtest.Open(t)
	ctx := context.Background()
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready after migrating: %v", err)
	}
	if err := db.Migrate(ctx, discardLogger()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	n := models.PhoneNumber{E164: "+14255550100", CountryCode: "US", Type: "GEOGRAPHIC", ReceiveCalls: true, CreatedAt: models.Now(), UpdatedAt: models.Now()}
	if err := db.Create(&n).Error; err != nil {
		t.Fatalf("insert: %v", err)
	}
	var got models.PhoneNumber
	if err := db.First(&got, n.ID).Error; err != nil {
		t.Fatalf("read back: %v", err)
	}
	if !got.CreatedAt.Equal(n.CreatedAt) || got.E164 != n.E164 || !got.ReceiveCalls || got.MakeCalls {
		t.Fatalf("read back %+v, want %+v", got, n)
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	for _, u := range []string{"postgres://x/y", "", "sqlite:", "mysql://host"} {
		if _, err := models.Open(u); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", u)
		}
	}
}
