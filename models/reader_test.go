package models_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"outdial/models"
	"outdial/models/dbtest"
)

// TestReaderReadsBesideTheWriter: a read through Reader neither waits for
// a write transaction in progress nor holds the writer. On SQLite the one
// writer's connection is held by an open transaction while the reader
// counts what was committed; then the reader holds a read transaction
// open while the writer commits. On MySQL Reader is the pool itself, and
// the same holds through its other connections.
func TestReaderReadsBesideTheWriter(t *testing.T) {
	db := dbtest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	number := func(e164 string) *models.PhoneNumber {
		return &models.PhoneNumber{E164: e164, CountryCode: "US", Type: "GEOGRAPHIC", CreatedAt: models.Now(), UpdatedAt: models.Now()}
	}
	count := func() int64 {
		t.Helper()
		var n int64
		if err := db.Reader().WithContext(ctx).Model(&models.PhoneNumber{}).Count(&n).Error; err != nil {
			t.Fatalf("count through the reader: %v", err)
		}
		return n
	}
	if err := db.WithContext(ctx).Create(number("+14255550100")).Error; err != nil {
		t.Fatal(err)
	}

	tx := db.WithContext(ctx).Begin()
	if tx.Error != nil {
		t.Fatal(tx.Error)
	}
	if err := tx.Create(number("+14255550101")).Error; err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("the reader counted %d numbers while a write was in progress, want the 1 committed", n)
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Errorf("the reader counted %d numbers after the commit, want 2", n)
	}

	rtx := db.Reader().WithContext(ctx).Begin()
	if rtx.Error != nil {
		t.Fatal(rtx.Error)
	}
	var n int64
	if err := rtx.Model(&models.PhoneNumber{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.WithContext(ctx).Create(number("+14255550102")).Error; err != nil {
		t.Fatalf("a write while a read transaction is open on the reader: %v", err)
	}
	if err := rtx.Rollback().Error; err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Errorf("the reader counted %d numbers, want 3", n)
	}

	if db.Dialect == models.SQLite {
		if db.Reader() == db {
			t.Fatal("on a SQLite file, Reader is the writer's connection")
		}
		if err := db.Reader().WithContext(ctx).Create(number("+14255550103")).Error; err == nil {
			t.Error("a write through the reader succeeded, want it refused (read-only)")
		}
	}
}

// TestReaderOfMemoryIsTheDatabase: a SQLite database in memory is one
// connection's (a second connection would open another, empty database),
// so Reader returns it, for every way of naming one; and the reader of a
// URI filename of a file reads that file.
func TestReaderOfMemoryIsTheDatabase(t *testing.T) {
	for _, u := range []string{"sqlite::memory:", "sqlite:file::memory:", "sqlite:file:"} {
		db, err := models.Open(u)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		if db.Reader() != db {
			t.Errorf("Open(%q): Reader is another connection", u)
		}
		_ = db.Close()
	}
	u := "sqlite:file:" + filepath.Join(t.TempDir(), "outdial.db")
	db, err := models.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background(), discardLogger()); err != nil {
		t.Fatal(err)
	}
	if db.Reader() == db {
		t.Fatalf("Open(%q): Reader is the writer's connection", u)
	}
	var n int64
	if err := db.Reader().Model(&models.PhoneNumber{}).Count(&n).Error; err != nil {
		t.Errorf("count through the reader of %q: %v", u, err)
	}
}
