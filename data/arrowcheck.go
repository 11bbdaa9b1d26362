package data

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// checkArrowFooter validates the vector lengths of an Arrow IPC file's
// footer schema before arrow-go reads it: arrow-go allocates a field slice
// of whatever length the footer claims (a flipped byte asked for 170 GB and
// killed the process with "fatal error: out of memory"). Each vector must
// fit in the footer's bytes.
func checkArrowFooter(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("data: read %s: %w", path, err)
	}
	size := fi.Size()
	if size < 18 {
		return nil // arrow-go reports the short file itself
	}
	var tail [10]byte
	if _, err := f.ReadAt(tail[:], size-10); err != nil && err != io.EOF {
		return fmt.Errorf("data: read %s: %w", path, err)
	}
	if string(tail[4:]) != "ARROW1" {
		return nil // not a file-format footer: arrow-go says so
	}
	n := int64(int32(binary.LittleEndian.Uint32(tail[:4])))
	if n <= 0 || n > size-10-8 {
		return fmt.Errorf("%w: %s: corrupt Arrow file: footer length %d does not fit in %d bytes", ErrCorrupt, path, n, size)
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-10-n); err != nil {
		return fmt.Errorf("data: read %s: %w", path, err)
	}
	fb := flatBuf(buf)
	root, ok := fb.u32(0)
	if !ok {
		return corruptArrow(path)
	}
	schema, ok := fb.table(int(root), 1)
	if !ok {
		return nil // no schema: arrow-go reports it
	}
	if !fb.checkSchema(schema, 0) {
		return corruptArrow(path)
	}
	return nil
}

func corruptArrow(path string) error {
	return fmt.Errorf("%w: %s: corrupt Arrow file: its footer's schema claims more entries than its bytes hold", ErrCorrupt, path)
}

// parquetArrowSchemaKey is the key-value metadata key under which Arrow
// writers store the Arrow schema of a Parquet file (base64 of an IPC
// stream holding one schema message).
const parquetArrowSchemaKey = "ARROW:schema"

// checkParquetArrowSchema validates the Arrow schema stored in a Parquet
// file's key-value metadata before pqarrow decodes it: pqarrow hands the
// decoded bytes to an IPC stream reader, which allocates a message of the
// length the bytes announce and a body of the length the message claims (a
// flipped byte asked for 32 GiB and killed the process with "fatal error:
// out of memory"), and a field slice of whatever length the schema claims.
// The message and body lengths must fit in the decoded bytes, and every
// vector of the schema in the message's bytes. A value that is not base64
// is left to pqarrow, which reports it.
func checkParquetArrowSchema(path string, kv metadata.KeyValueMetadata) error {
	v := kv.FindValue(parquetArrowSchemaKey)
	if v == nil {
		return nil
	}
	// Decoded as pqarrow decodes it.
	var dec []byte
	var err error
	if len(*v)%4 == 0 {
		dec, err = base64.StdEncoding.DecodeString(*v)
	}
	if len(dec) == 0 || err != nil {
		if dec, err = base64.RawStdEncoding.DecodeString(*v); err != nil {
			return nil
		}
	}
	if len(dec) < 4 {
		return nil // too short for a message: the stream reader says so
	}
	fb := flatBuf(dec)
	start := 4
	msgLen, _ := fb.u32(0)
	switch msgLen {
	case 0:
		return nil // end of stream: no schema, the stream reader says so
	case 0xFFFFFFFF: // continuation marker, then the length
		var ok bool
		if msgLen, ok = fb.u32(4); !ok {
			return nil
		}
		start = 8
	}
	if int64(int32(msgLen)) < 4 || int64(int32(msgLen)) > int64(len(dec)-start) {
		return corruptParquetSchema(path, fmt.Sprintf("its message length %d does not fit in %d bytes", int32(msgLen), len(dec)-start))
	}
	msg := flatBuf(dec[start : start+int(msgLen)])
	rest := int64(len(dec) - start - int(msgLen))
	root, ok := msg.u32(0)
	if !ok {
		return corruptParquetSchema(path, "its message has no root")
	}
	// Message: version (0), header_type (1), header (2), bodyLength (3),
	// custom_metadata (4).
	if p, ok := msg.field(int(root), 3); !ok {
		return corruptParquetSchema(path, "its message table is out of bounds")
	} else if p != 0 {
		body, ok := msg.u64(p)
		if !ok || body > uint64(rest) {
			return corruptParquetSchema(path, fmt.Sprintf("its message body length %d does not fit in %d bytes", int64(body), rest))
		}
	}
	if !msg.checkVec(int(root), 4) {
		return corruptParquetSchema(path, "its message metadata claims more entries than its bytes hold")
	}
	schema, ok := msg.table(int(root), 2)
	if !ok {
		return nil // no header: the stream reader says so
	}
	if !msg.checkSchema(schema, 0) {
		return corruptParquetSchema(path, "its schema claims more entries than its bytes hold")
	}
	return nil
}

func corruptParquetSchema(path, why string) error {
	return fmt.Errorf("%w: %s: the Arrow schema stored in the Parquet metadata (%q): %s", ErrCorrupt, path, parquetArrowSchemaKey, why)
}

// flatBuf reads just enough FlatBuffers to check vector lengths.
type flatBuf []byte

func (b flatBuf) u32(p int) (uint32, bool) {
	if p < 0 || p+4 > len(b) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[p:]), true
}

func (b flatBuf) u64(p int) (uint64, bool) {
	if p < 0 || p+8 > len(b) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[p:]), true
}

func (b flatBuf) u16(p int) (uint16, bool) {
	if p < 0 || p+2 > len(b) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b[p:]), true
}

// field returns the position of field i of the table at t (0 when absent).
func (b flatBuf) field(t, i int) (int, bool) {
	so, ok := b.u32(t)
	if !ok {
		return 0, false
	}
	vt := t - int(int32(so))
	vsize, ok := b.u16(vt)
	if !ok {
		return 0, false
	}
	if 4+2*i >= int(vsize) {
		return 0, true
	}
	off, ok := b.u16(vt + 4 + 2*i)
	if !ok {
		return 0, false
	}
	if off == 0 {
		return 0, true
	}
	return t + int(off), true
}

// table follows field i of table t to the table it points at.
func (b flatBuf) table(t, i int) (int, bool) {
	p, ok := b.field(t, i)
	if !ok || p == 0 {
		return 0, false
	}
	o, ok := b.u32(p)
	return p + int(o), ok
}

// vector returns the start and length of the vector in field i of table t;
// ok is false when it does not fit in the buffer (elem bytes per entry).
func (b flatBuf) vector(t, i, elem int) (start, n int, ok bool) {
	p, ok := b.field(t, i)
	if !ok {
		return 0, 0, false
	}
	if p == 0 {
		return 0, 0, true
	}
	o, ok := b.u32(p)
	if !ok {
		return 0, 0, false
	}
	v := p + int(o)
	l, ok := b.u32(v)
	if !ok || int64(l)*int64(elem) > int64(len(b)-v-4) {
		return 0, 0, false
	}
	return v + 4, int(l), true
}

// checkSchema checks the Schema table's fields and custom_metadata, and
// each Field's children and custom_metadata, recursively.
func (b flatBuf) checkSchema(t, depth int) bool {
	return b.checkFields(t, 1, depth) && b.checkVec(t, 2)
}

func (b flatBuf) checkVec(t, i int) bool {
	_, _, ok := b.vector(t, i, 4)
	return ok
}

func (b flatBuf) checkFields(t, i, depth int) bool {
	if depth > 64 {
		return false
	}
	start, n, ok := b.vector(t, i, 4)
	if !ok {
		return false
	}
	for k := 0; k < n; k++ {
		o, ok := b.u32(start + 4*k)
		if !ok {
			return false
		}
		f := start + 4*k + int(o)
		// Field: children (5), custom_metadata (6).
		if !b.checkFields(f, 5, depth+1) || !b.checkVec(f, 6) {
			return false
		}
	}
	return true
}

// CheckParquet validates, before pqarrow decodes it, the Arrow schema that
// the Parquet file pf (opened from path) stores in its metadata, as Open
// does: every reader of a Parquet file outside this package calls it
// between opening the file and pqarrow.NewFileReader. A corrupt schema is
// an error wrapping ErrCorrupt and naming path.
func CheckParquet(path string, pf *file.Reader) error {
	return checkParquetArrowSchema(path, pf.MetaData().KeyValueMetadata())
}

// CheckArrowFile validates the footer schema of the Arrow IPC file f
// (opened from path) before ipc.NewFileReader reads it, as Open does. A
// corrupt footer is an error wrapping ErrCorrupt and naming path.
func CheckArrowFile(f *os.File, path string) error {
	return checkArrowFooter(f, path)
}
