package dbtest

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

// TestCreateMySQLDatabaseSaysWhatIsWrong: each way TEST_MYSQL_URL can be
// wrong gets its own explanation, not "is MariaDB running?" for all.
func TestCreateMySQLDatabaseSaysWhatIsWrong(t *testing.T) {
	t.Run("NothingAnswers", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close() // nothing listens there any more
		_, err = CreateMySQLDatabase("mysql://root@"+addr+"/test", "t_unused")
		wantError(t, err, "nothing answers at "+addr+": is MariaDB (or MySQL) running there?")
	})

	base := MySQLURL()
	server := func(t *testing.T, edit func(u *url.URL)) string {
		t.Helper()
		if base == "" {
			t.Skip("TEST_MYSQL_URL is not set: these cases need a MySQL server")
		}
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		edit(u)
		return u.String()
	}
	t.Run("DatabaseDoesNotExist", func(t *testing.T) {
		missing := databaseName(t)
		bad := server(t, func(u *url.URL) { u.Path = "/" + missing })
		_, err := CreateMySQLDatabase(bad, databaseName(t))
		wantError(t, err, `the database "`+missing+`" that it names does not exist`, "the named database must exist", "CREATE DATABASE `"+missing+"`")
	})
	t.Run("UnknownUser", func(t *testing.T) {
		bad := server(t, func(u *url.URL) { u.User = url.UserPassword("no_such_user_outdial", "wrong") })
		_, err := CreateMySQLDatabase(bad, databaseName(t))
		wantError(t, err, `refuses user "no_such_user_outdial": check the user and password`)
	})
	t.Run("Good", func(t *testing.T) {
		good := server(t, func(*url.URL) {})
		name := databaseName(t)
		created, err := CreateMySQLDatabase(good, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := dropMySQLDatabase(good, name); err != nil {
				t.Error(err)
			}
		})
		if u, _ := url.Parse(created); u.Path != "/"+name {
			t.Errorf("URL of the new database: %s, want the path /%s", created, name)
		}
	})
}

// wantError fails t unless err contains every part.
func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q\n does not say %q", err, p)
		}
	}
	if strings.Contains(err.Error(), "running") != strings.Contains(parts[0], "running") {
		t.Errorf("error %q blames the wrong thing", err)
	}
}
