package models_test

import (
	"context"
	"strings"
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

// TestReadyWritesNothing: Ready on a database that was never migrated says
// that migrations are pending and creates nothing. goose's HasPending
// created its version table without the migration lock, and on MariaDB a
// /readyz answered meanwhile made another process's first migration fail
// with "missing zero version migration" (seen when two processes started
// on a new database). Then Ready during and after a migration.
func TestReadyWritesNothing(t *testing.T) {
	ctx := context.Background()
	db, err := models.Open(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for range 2 {
		if err := db.Ready(ctx); err == nil || !strings.Contains(err.Error(), "migrations pending") {
			t.Fatalf("Ready on an empty database: %v, want migrations pending", err)
		}
	}
	if tables, err := db.Migrator().GetTables(); err != nil || len(tables) != 0 {
		t.Fatalf("Ready on an empty database left tables %v (%v), want none", tables, err)
	}
	done := make(chan error, 1)
	go func() { done <- db.Migrate(ctx, discardLogger()) }()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Migrate beside Ready: %v", err)
			}
			if err := db.Ready(ctx); err != nil {
				t.Fatalf("Ready after migrating: %v", err)
			}
			return
		default:
			_ = db.Ready(ctx) // pending, or not yet readable: it must only not disturb Migrate
		}
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	for _, u := range []string{"postgres://x/y", "", "sqlite:", "mysql://host"} {
		if _, err := models.Open(u); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", u)
		}
	}
}
