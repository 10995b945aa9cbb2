package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"outdial/models"
	"outdial/models/dbtest"
)

// TestMigrateConcurrently: processes starting at once on a new database
// (replicas; the tests' servers) each migrate it while /readyz asks them in
// turn whether they are ready: every Migrate succeeds, and once all are
// done every Ready says ready. Each process is a *models.DB of its own (its
// pools, goose provider and MySQL sessions). On MariaDB, goose's Up
// created the version table without the migration lock, and a process
// that took the lock between that CREATE TABLE and the row of version 0
// failed with "missing zero version migration"; the rounds, each on a
// new database, make that window likely to be hit.
func TestMigrateConcurrently(t *testing.T) {
	if dbtest.MySQLURL() == "" {
		t.Skip("TEST_MYSQL_URL is not set: processes share a database only on MySQL")
	}
	rounds, procs := 10, 8 // a round failed one time in five before the fix: ten miss it one time in ten
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			url := dbtest.URL(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dbs := make([]*models.DB, procs)
			for i := range dbs {
				db, err := models.Open(url)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				dbs[i] = db
			}
			start, migrated := make(chan struct{}), make(chan struct{})
			errs := make([]error, procs)
			var migrations, polls sync.WaitGroup
			for i, db := range dbs {
				migrations.Go(func() {
					<-start
					if err := db.Migrate(ctx, discardLogger()); err != nil {
						errs[i] = fmt.Errorf("process %d: %w", i, err)
					}
				})
			}
			polls.Go(func() { // a load balancer asks each process in turn
				<-start
				for i := 0; ; i++ {
					select {
					case <-migrated:
						return
					default:
						_ = dbs[i%procs].Ready(ctx) // pending or ready: it must only not disturb Migrate
					}
				}
			})
			close(start)
			migrations.Wait()
			close(migrated)
			polls.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("Migrate of processes starting at once:\n%v", err)
			}
			for i, db := range dbs {
				if err := db.Ready(ctx); err != nil {
					t.Fatalf("process %d: Ready after migrating: %v", i, err)
				}
			}
		})
	}
}
