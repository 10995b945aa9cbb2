package resolvers

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"outdial/calling"
	"outdial/graph/model"
)

const cursorPrefix = "cursor:"

// A cursor is tied to its list: the field that made it (Query.agents,
// Queue.agents…) and, for the list of one object, that object. Another
// list's cursor, or another spelling of one, is refused.

// listOf names the list the field being resolved returns; owner is the
// key of the object whose list it is (0 for a top-level list).
func listOf(ctx context.Context, owner int64) string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return ""
	}
	list := fc.Object + "." + fc.Field.Name
	if owner != 0 {
		list += "/" + strconv.FormatInt(owner, 10)
	}
	return list
}

// encodeCursor returns the opaque cursor of the item with key id in list.
func encodeCursor(list string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + list + ":" + strconv.FormatInt(id, 10)))
}

// decodeCursor returns the key of a cursor made by encodeCursor for list:
// that very string, not another spelling of it.
func decodeCursor(list, s string) (int64, bool) {
	if len(s) > 256 {
		return 0, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	n, ok := strings.CutPrefix(string(raw), cursorPrefix+list+":")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(n, 10, 64)
	return id, err == nil && id > 0 && encodeCursor(list, id) == s
}

// pageArgs checks first (0 to 100, default 50) and after, a cursor of
// list.
func pageArgs(list string, first *int, after *string) (calling.Page, error) {
	p := calling.Page{First: calling.DefaultPageSize}
	if first != nil {
		if err := checkFirst(*first); err != nil {
			return p, err
		}
		p.First = *first
	}
	if after != nil && *after != "" {
		id, ok := decodeCursor(list, *after)
		if !ok {
			return p, badInput("after is not a cursor of this list.")
		}
		p.After = id
	}
	return p, nil
}

// checkFirst is the rule of a page size: 0 to calling.MaxPageSize.
func checkFirst(first int) error {
	if first < 0 || first > calling.MaxPageSize {
		return badInput("first must be between 0 and %d; it is %d.", calling.MaxPageSize, first)
	}
	return nil
}

// page is one page of a connection, converted to GraphQL nodes.
type page[N any] struct {
	nodes    []*N
	cursors  []string
	pageInfo *model.PageInfo
}

// newPage converts rows to nodes and computes cursors and page info.
func newPage[R, N any](list string, rows []R, hasNext bool, p calling.Page, key func(*R) int64, conv func(*R) *N) page[N] {
	pg := page[N]{nodes: make([]*N, len(rows)), cursors: make([]string, len(rows)),
		pageInfo: &model.PageInfo{HasNextPage: hasNext, HasPreviousPage: p.After > 0}}
	for i := range rows {
		pg.nodes[i] = conv(&rows[i])
		pg.cursors[i] = encodeCursor(list, key(&rows[i]))
	}
	if len(rows) > 0 {
		pg.pageInfo.StartCursor = &pg.cursors[0]
		pg.pageInfo.EndCursor = &pg.cursors[len(rows)-1]
	}
	return pg
}

// wantsTotal reports whether the connection being resolved selects
// totalCount, so that the COUNT runs only when asked for.
func wantsTotal(ctx context.Context) bool {
	return slices.Contains(graphql.CollectAllFields(ctx), "totalCount")
}

// wantsPage reports whether the connection being resolved selects more
// than its totalCount (and __typename), so that a query of the count
// alone (agents(filter: {queueId}) { totalCount }) reads no page: at
// 100,000 members the page cost 130 ms where the count costs one row
// (BENCHMARKS.md).
func wantsPage(ctx context.Context) bool {
	return slices.ContainsFunc(graphql.CollectAllFields(ctx), func(f string) bool { return f != "totalCount" && f != "__typename" })
}

// total runs count when the query selects totalCount.
func total(ctx context.Context, count func() (int, error)) (int, error) {
	if !wantsTotal(ctx) {
		return 0, nil
	}
	return count()
}
