-- Nothing to do on MySQL/MariaDB: the SQLite migration of the same number
-- makes webhook_deliveries_finished a partial index (WHERE status <>
-- 'PENDING'), and MySQL/MariaDB have no partial indexes. This file keeps
-- the versions of both dialects alike (models/doc.go).
-- +goose Up

-- +goose Down
