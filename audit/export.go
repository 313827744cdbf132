package audit

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/licensing-ledger/ledger/events"
)

// ExportContentType is the media type of an export: one JSON object per line.
const ExportContentType = "application/x-ndjson"

// Trailers of an export served over HTTP: a client that does not find the
// count and head after the last line, or finds an error, knows the export
// is incomplete.
const (
	TrailerEventCount  = "Ledger-Event-Count"
	TrailerHead        = "Ledger-Head-Sha256"
	TrailerExportError = "Ledger-Export-Error"
	// TrailerDamage says where a complete export's history first breaks
	// (see Break), when it does: the export holds every stored event, and
	// ledgerctl verify names the damage.
	TrailerDamage = "Ledger-Damage"
)

// MaxLineBytes bounds one line of an export file, so that a hostile file
// cannot make a reader allocate without limit.
const MaxLineBytes = 16 << 20

// Line is one event of an export, one JSON object per line. Data is the
// event exactly as stored (base64 in JSON), so that anyone can recompute the
// hash chain over the very bytes that were written; the other fields repeat
// what the store says of the event, for people and tools reading the file,
// and are checked against the envelope inside Data.
type Line struct {
	Tenant   string    `json:"tenant"`
	ID       string    `json:"id"`
	Sequence uint64    `json:"sequence"`
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
	Data     []byte    `json:"data"`
}

// LineOf returns the export line of a stored record. A record whose bytes
// do not decode is exported all the same, with a zero time: an export never
// hides evidence, and verifying it names the record.
func LineOf(r events.Record) Line {
	l := Line{Tenant: r.Tenant, ID: r.ID, Sequence: r.Sequence, Type: r.Type, Data: r.Data}
	if e, err := events.Decode(r.Data); err == nil {
		l.Time = e.GetTime().AsTime()
	}
	return l
}

// Record returns the stored record the line holds.
func (l Line) Record() events.Record {
	return events.Record{ID: l.ID, Tenant: l.Tenant, Type: l.Type, Sequence: l.Sequence, Data: l.Data}
}

// Encoder writes an export. It is buffered: call Flush at the end.
type Encoder struct {
	w    *bufio.Writer
	n    int
	head []byte
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: bufio.NewWriterSize(w, 64<<10)} }

// Encode writes one record as a line.
func (e *Encoder) Encode(r events.Record) error {
	b, err := json.Marshal(LineOf(r))
	if err != nil {
		return err
	}
	if _, err := e.w.Write(append(b, '\n')); err != nil {
		return err
	}
	e.n++
	e.head = events.Hash(r.Data)
	return nil
}

// Flush writes what the encoder buffers.
func (e *Encoder) Flush() error { return e.w.Flush() }

// Count returns how many records were encoded.
func (e *Encoder) Count() int { return e.n }

// Head returns the SHA-256, in hex, of the last record's stored bytes.
func (e *Encoder) Head() string { return hex.EncodeToString(e.head) }

// CheckpointLine is the line an export starts with when the ledger signs
// checkpoints (L8): the signed checkpoint of the tenant's tree that covers
// exactly the events that follow.
type CheckpointLine struct {
	Checkpoint string `json:"checkpoint"`
}

// EncodeCheckpoint writes the checkpoint line. It goes first, so that a
// verifier knows, before reading the events, how many the export holds.
func (e *Encoder) EncodeCheckpoint(signed []byte) error {
	b, err := json.Marshal(CheckpointLine{Checkpoint: string(signed)})
	if err != nil {
		return err
	}
	_, err = e.w.Write(append(b, '\n'))
	return err
}

// Decoder reads an export line by line.
type Decoder struct {
	sc         *bufio.Scanner
	line       int
	checkpoint []byte
}

// Checkpoint returns the signed checkpoint the export carries, read from
// its checkpoint line, or nil when it carries none (or it is not read yet).
func (d *Decoder) Checkpoint() []byte { return d.checkpoint }

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	return &Decoder{sc: sc}
}

// Next returns the next line and its line number in the file, skipping
// blank lines. It returns io.EOF at the end, and a *Break of kind malformed
// for a line that is not an export line.
func (d *Decoder) Next() (Line, int, error) {
	for d.sc.Scan() {
		d.line++
		raw := bytes.TrimSpace(d.sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if cp, ok := checkpointLine(raw); ok {
			d.checkpoint = cp
			continue
		}
		l, err := parseLine(raw)
		if err != nil {
			return Line{}, d.line, &Break{Kind: KindMalformed, Line: d.line, ID: l.ID, Sequence: l.Sequence, Reason: err.Error()}
		}
		return l, d.line, nil
	}
	if err := d.sc.Err(); err != nil {
		return Line{}, d.line + 1, fmt.Errorf("reading line %d: %w", d.line+1, err)
	}
	return Line{}, d.line, io.EOF
}

// checkpointLine returns the checkpoint of a checkpoint line.
func checkpointLine(raw []byte) ([]byte, bool) {
	if !bytes.HasPrefix(raw, []byte(`{"checkpoint"`)) {
		return nil, false
	}
	var c CheckpointLine
	if json.Unmarshal(raw, &c) != nil || c.Checkpoint == "" {
		return nil, false
	}
	return []byte(c.Checkpoint), true
}

func parseLine(raw []byte) (Line, error) {
	var l Line
	if err := json.Unmarshal(raw, &l); err != nil {
		return l, fmt.Errorf("not an export line (%v)", err)
	}
	if l.ID == "" || l.Sequence == 0 || len(l.Data) == 0 {
		return l, errors.New("an export line needs id, sequence and data")
	}
	return l, nil
}

// DecoderSource yields the records of an export. A line that is not an
// export line ends it with a *Break.
func DecoderSource(d *Decoder) Source {
	return func(fn func(events.Record) error) error {
		for {
			l, _, err := d.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := fn(l.Record()); err != nil {
				return err
			}
		}
	}
}
