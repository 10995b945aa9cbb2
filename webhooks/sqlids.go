package webhooks

import (
	"strconv"
	"strings"

	"outdial/models"
)

// inList returns ids as an SQL list, "(1,2,3)", written into the statement
// rather than bound: they are integers we formatted, so nothing can be
// injected, and the SQLite driver binds parameters in time quadratic in
// their number, which made statements over a few hundred rows slow.
// ids must not be empty.
func inList(ids []int64) string {
	var b strings.Builder
	b.Grow(len(ids)*8 + 2)
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte(')')
	return b.String()
}

// deliveriesUsing names webhook_deliveries AS alias for a query that must
// read it through index: the planners, left alone, sometimes scan every
// delivery of a status (SQLite without statistics, MariaDB with stale
// ones), which grows with the table's whole history.
func (d *Dispatcher) deliveriesUsing(alias, index string) string {
	if d.db.Dialect == models.MySQL {
		return "webhook_deliveries AS " + alias + " FORCE INDEX (" + index + ")"
	}
	return "webhook_deliveries AS " + alias + " INDEXED BY " + index
}

// orFail returns the conflict clause of the multi-row INSERTs and UPDATEs
// made inside a transaction: " OR FAIL" on SQLite, nothing on MySQL.
// SQLite undoes a statement that fails (ABORT, the default) with a
// statement journal, a copy of every page the statement changes, which
// past 64 KiB goes to a temporary file opened, written and closed for
// the statement; that was a tenth of a write's cost. FAIL keeps the rows
// changed before the failure instead, which is the same here: every
// caller rolls the whole transaction back on any error.
func (d *Dispatcher) orFail() string {
	if d.db.Dialect == models.SQLite {
		return " OR FAIL"
	}
	return ""
}
