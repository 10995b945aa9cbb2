package webhooks

import (
	"strconv"
	"strings"
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

// deliveriesUsing names webhook_deliveries AS alias read through index
// (see Deliveries.using).
func (d *Dispatcher) deliveriesUsing(alias, index string) string {
	return d.deliveries.using(alias, index)
}
