//go:build ignore

// gen writes the bad-input corpus of churnpipe's nightly job (see README.md):
//
//	cd testdata/badinput && go run gen.go
//
// Every file is small and deterministic. The CSV files are the good history
// (good.csv: 30 customers, 8 events each, from 2023-07-01) with one defect
// added; the Parquet files are written with data.CreateFile.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/churnpipe/churnpipe/data"
)

const header = "customer_id,event_time,event_type,amount\n"

type event struct {
	id     string
	t      time.Time
	typ    string
	amount string // "" = empty
}

var start = time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC)

// base returns the good history: customer c01…c30, 8 events each, every
// 40 days from day 5·i; the 4th event is a visit without amount.
func base() []event {
	var ev []event
	for i := 1; i <= 30; i++ {
		for k := 0; k < 8; k++ {
			e := event{id: fmt.Sprintf("c%02d", i), t: start.AddDate(0, 0, 5*i+40*k).Add(time.Duration(9+k) * time.Hour), typ: "purchase",
				amount: fmt.Sprintf("%d.%02d", 10+i+k, (7*i+k)%100)}
			if k == 3 {
				e.typ, e.amount = "visit", ""
			}
			ev = append(ev, e)
		}
	}
	return ev
}

func csvText(ev []event, eol string) string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(header, "\n", eol))
	for _, e := range ev {
		fmt.Fprintf(&b, "%s,%s,%s,%s%s", e.id, e.t.Format(time.RFC3339), e.typ, e.amount, eol)
	}
	return b.String()
}

func write(name, text string) {
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		log.Fatal(err)
	}
}

func main() {
	good := csvText(base(), "\n")
	write("good.csv", good)

	// Truncated: the last line is cut inside event_time, without a newline.
	write("truncated.csv", good+"c31,2024-05-0")
	// Missing header: the data rows only.
	write("missing_header.csv", strings.TrimPrefix(good, header))
	// Duplicated header: amount twice.
	write("dup_header.csv", strings.Replace(good, header, "customer_id,event_time,event_type,amount,amount\n", 1))
	// Byte order mark before the header.
	write("bom.csv", "\ufeff"+good)
	// CRLF line ends.
	write("crlf.csv", csvText(base(), "\r\n"))
	// Encoded exports, read as the plain file (data/csvencoding.go):
	// gzip-compressed, Excel "Unicode Text" (UTF-16 LE with BOM, tabs,
	// CRLF), classic Mac CR-only line ends.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(good))
	zw.Close()
	write("gzip.csv.gz", gz.String())
	u16 := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(strings.ReplaceAll(strings.ReplaceAll(good, ",", "\t"), "\n", "\r\n"))) {
		u16 = append(u16, byte(u), byte(u>>8))
	}
	write("excel_unicode.txt", string(u16))
	write("cr_only.csv", strings.ReplaceAll(good, "\n", "\r"))
	// A SQL export: event_id NULL on every row (the source had no line
	// ids), \N for the missing amounts of visits. Nothing is a duplicate.
	var sq strings.Builder
	sq.WriteString("customer_id,event_time,event_type,amount,event_id\n")
	for _, e := range base() {
		amount := e.amount
		if amount == "" {
			amount = `\N`
		}
		fmt.Fprintf(&sq, "%s,%s,%s,%s,NULL\n", e.id, e.t.Format(time.RFC3339), e.typ, amount)
	}
	write("sql_export.csv", sq.String())
	// Semicolon-separated (European Excel): the header is one field.
	write("semicolon.csv", strings.ReplaceAll(good, ",", ";"))
	// NUL byte inside a customer_id (one row).
	write("nul.csv", good+"c3\x001,2024-03-01T10:00:00Z,purchase,12.00\n")
	// customer_id not valid UTF-8 (one row).
	write("nonutf8_ids.csv", good+"c\xff\xfe1,2024-03-01T10:00:00Z,purchase,12.00\n")
	// A customer_id of 192 characters, one more than data.MaxIDLength.
	write("long_ids.csv", good+strings.Repeat("é", 192)+",2024-03-01T10:00:00Z,purchase,12.00\n")
	// Times: far past and far future (rejected), no zone (rejected), and
	// 2150 (valid but after the as-of day: excluded and counted).
	write("times.csv", good+
		"c01,1850-01-01T00:00:00Z,purchase,1.00\n"+
		"c02,2250-01-01T00:00:00Z,purchase,1.00\n"+
		"c03,2024-03-01T10:00:00,purchase,1.00\n"+
		"c04,2150-01-01,purchase,1.00\n")
	// Exact duplicate events: five rows repeated verbatim.
	lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
	write("duplicates.csv", good+strings.Join(lines[1:6], "\n")+"\n")
	// Amounts: 1e300, NaN, Inf and "1,234.50" (four rejected rows of 244: 1.6 %).
	write("amounts.csv", good+
		"c01,2024-03-01T10:00:00Z,purchase,1e300\n"+
		"c02,2024-03-01T10:00:00Z,purchase,NaN\n"+
		"c03,2024-03-01T10:00:00Z,purchase,Inf\n"+
		"c04,2024-03-01T10:00:00Z,purchase,\"1,234.50\"\n")
	// Wrong column types in CSV: event_time and amount swapped in every row.
	var sw strings.Builder
	sw.WriteString(header)
	for _, e := range base() {
		fmt.Fprintf(&sw, "%s,%s,%s,%s\n", e.id, e.amount, e.typ, e.t.Format(time.RFC3339))
	}
	write("wrong_types.csv", sw.String())
	// Zero customers: the header only.
	write("header_only.csv", header)
	// Every customer churned: the same history moved back two years, so
	// the last purchase is more than 180 days before the as-of day.
	var old []event
	for _, e := range base() {
		e.t = e.t.AddDate(-2, 0, 0)
		old = append(old, e)
	}
	write("all_churned.csv", csvText(old, "\n"))

	// Parquet: the good history, then cut to half its bytes.
	writeParquet("good.parquet", data.EventSchema, base())
	b, err := os.ReadFile("good.parquet")
	if err != nil {
		log.Fatal(err)
	}
	write("truncated.parquet", string(b[:len(b)/2]))
	write("corrupt_arrow_schema.parquet", string(flipStoredSchema(b, 14)))
	os.Remove("good.parquet")
	// Arrow IPC: the good history with one byte of the footer's schema set
	// to 0xff, the first (from the footer's start) that the footer check
	// refuses; arrow-go would allocate what the flipped length claims.
	writeParquet("good.arrow", data.EventSchema, base())
	write("corrupt_footer_schema.arrow", string(flipFooter("good.arrow")))
	os.Remove("good.arrow")
	// Parquet with event_time as float64 (seconds): a type that is not converted.
	wrong := arrow.NewSchema([]arrow.Field{
		{Name: data.ColCustomerID, Type: arrow.BinaryTypes.String},
		{Name: data.ColEventTime, Type: arrow.PrimitiveTypes.Float64},
		{Name: data.ColEventType, Type: arrow.BinaryTypes.String},
		{Name: data.ColAmount, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	writeParquet("wrong_types.parquet", wrong, base())
	if !bytes.HasPrefix(b, []byte("PAR1")) {
		log.Fatal("not a Parquet file")
	}
}

// flipStoredSchema returns a copy of the Parquet file b with byte off of its
// stored Arrow schema (the base64 "ARROW:schema" metadata, decoded) XORed
// with 0xff and encoded back in place. Byte 14 is the low byte of the schema
// message's vtable size: arrow-go then reads a body length of 34 GB.
func flipStoredSchema(b []byte, off int) []byte {
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		log.Fatal(err)
	}
	defer pf.Close()
	v := pf.MetaData().KeyValueMetadata().FindValue("ARROW:schema")
	if v == nil {
		log.Fatal("no stored Arrow schema")
	}
	at := bytes.Index(b, []byte(*v))
	dec, err := base64.StdEncoding.DecodeString(*v)
	if at < 0 || err != nil {
		log.Fatal("stored Arrow schema not found in the bytes: ", err)
	}
	dec[off] ^= 0xff
	out := append([]byte(nil), b...)
	copy(out[at:], base64.StdEncoding.EncodeToString(dec))
	return out
}

// flipFooter returns the Arrow IPC file at path with the first byte of its
// footer that, set to 0xff, data.Open's footer check refuses (data.ErrCorrupt:
// the schema claims more entries than its bytes hold).
func flipFooter(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	n := int(int32(binary.LittleEndian.Uint32(b[len(b)-10:])))
	for off := len(b) - 10 - n; off < len(b)-10; off++ {
		x := append([]byte(nil), b...)
		if x[off] == 0xff {
			continue
		}
		x[off] = 0xff
		if err := os.WriteFile("flipped.arrow", x, 0o644); err != nil {
			log.Fatal(err)
		}
		_, err := data.Open("flipped.arrow", data.Options{})
		os.Remove("flipped.arrow")
		if errors.Is(err, data.ErrCorrupt) && strings.Contains(err.Error(), "claims more entries") {
			return x
		}
	}
	log.Fatal("no footer byte the check refuses")
	return nil
}

func writeParquet(name string, schema *arrow.Schema, ev []event) {
	mem := memory.NewGoAllocator()
	bld := array.NewRecordBuilder(mem, schema)
	defer bld.Release()
	for _, e := range ev {
		bld.Field(0).(*array.StringBuilder).Append(e.id)
		switch tb := bld.Field(1).(type) {
		case *array.TimestampBuilder:
			tb.Append(arrow.Timestamp(e.t.UnixMilli()))
		case *array.Float64Builder:
			tb.Append(float64(e.t.Unix()))
		}
		bld.Field(2).(*array.StringBuilder).Append(e.typ)
		ab := bld.Field(3).(*array.Float64Builder)
		var x float64
		if _, err := fmt.Sscan(e.amount, &x); err != nil {
			ab.AppendNull()
		} else {
			ab.Append(x)
		}
	}
	rec := bld.NewRecord()
	defer rec.Release()
	w, err := data.CreateFile(name, schema, data.WriteOptions{Alloc: mem})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		w.Abort()
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
}
