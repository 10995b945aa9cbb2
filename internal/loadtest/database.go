package loadtest

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"

	"outdial/models"
)

// PrepareDatabase returns the URL of the database to run on: a temporary
// SQLite file (in a directory named with prefix, removed by cleanup) when
// raw is ""; a MySQL database is created when it does not exist, and
// dropped first when fresh.
func PrepareDatabase(raw, prefix string, fresh bool) (string, func(), error) {
	if raw == "" {
		dir, err := os.MkdirTemp("", prefix)
		if err != nil {
			return "", nil, err
		}
		return "sqlite:" + filepath.Join(dir, "outdial.db"), func() { _ = os.RemoveAll(dir) }, nil
	}
	if !strings.HasPrefix(raw, "mysql://") {
		return raw, func() {}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, err
	}
	name := strings.Trim(u.Path, "/")
	if name == "" || strings.ContainsAny(name, "`/") {
		return "", nil, fmt.Errorf("name a database in %s", models.RedactURL(raw))
	}
	dsn, err := models.MySQLDSN(raw)
	if err != nil {
		return "", nil, err
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", nil, err
	}
	cfg.DBName = "" // connect to the server: the database may not exist yet
	conn, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return "", nil, err
	}
	defer conn.Close()
	if fresh {
		if _, err := conn.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			return "", nil, fmt.Errorf("drop database %s: %w", name, err)
		}
	}
	if _, err := conn.Exec("CREATE DATABASE IF NOT EXISTS `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	return raw, func() {}, nil
}
