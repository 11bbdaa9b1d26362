package features

import (
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Describe writes the data dictionary of the feature table — every column
// of Schema() with its type, whether it can be null, and its meaning (the
// field's "doc" metadata) — as a Markdown document. docs/features.md is its
// output (`churnpipe features --describe > docs/features.md`), and a test
// keeps the two in sync.
func Describe(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`# Feature table: data dictionary

One row per customer at an as-of day, as ` + "`churnpipe features --input … --as-of DAY --out F.parquet`" + ` writes
it and the nightly job and ` + "`churnpipe score`" + ` read it. Point in time: only events up to the end of the
as-of day (UTC) count; "the last N days" are the N days ending on the as-of day. Days are calendar days,
amounts are in the currency of the input, counts are events unless they say purchase days (distinct days
with a purchase). Prospects are customers with interactions but no purchase.

Generated from the schema (` + "`features.Schema()`" + `, the "doc" metadata of each field) by
` + "`churnpipe features --describe`" + `; do not edit by hand.

| # | column | type | null | meaning |
| --- | --- | --- | --- | --- |
`)
	for i, f := range Schema().Fields() {
		doc, _ := f.Metadata.GetValue("doc")
		null := "never"
		if f.Nullable {
			null = "yes"
		}
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s |\n", i+1, f.Name, typeName(f.Type), null, strings.ReplaceAll(doc, "|", `\|`))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func typeName(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRING:
		return "string"
	case arrow.INT32:
		return "int32"
	case arrow.INT64:
		return "int64"
	case arrow.FLOAT64:
		return "float64"
	case arrow.DATE32:
		return "date"
	}
	return t.String()
}
