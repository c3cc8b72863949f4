package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"time"

	"github.com/strongroom/strongroom"
)

// JSONEvent is an event as Export writes it: one JSON object a line, with
// the chain's fields, so that a SIEM can keep the hashes with the events.
type JSONEvent struct {
	Seq       int64  `json:"seq"`
	Time      string `json:"time"` // RFC 3339, UTC, milliseconds
	Type      string `json:"type"`
	Outcome   string `json:"outcome"`
	UserID    string `json:"user_id"`
	Target    string `json:"target"`
	Client    string `json:"client"`
	RequestID string `json:"request_id"`
	Prev      string `json:"prev"` // hex
	Hash      string `json:"hash"` // hex
}

// ToJSON returns e as Export writes it.
func ToJSON(e *strongroom.AuditEvent) JSONEvent {
	return JSONEvent{Seq: e.Seq, Time: e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Type: e.Type, Outcome: e.Outcome,
		UserID: e.UserID, Target: e.Target, Client: e.Client, RequestID: e.RequestID,
		Prev: hex.EncodeToString(e.Prev), Hash: hex.EncodeToString(e.Hash)}
}

// ExportFilter selects the events Export writes. Zero fields select all.
type ExportFilter struct {
	Since  time.Time // events at or after this time
	UserID string
	Type   string
}

// Export writes the stored events that f selects to w, oldest first, one
// JSON object (JSONEvent) a line, and returns how many it wrote. It reads
// the chain a page at a time; it does not verify it (Verify does).
func Export(ctx context.Context, st strongroom.AuditStore, w io.Writer, f ExportFilter) (int, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	for after := int64(0); ; {
		events, err := st.AuditChain(ctx, after, strongroom.MaxAuditPage)
		if err != nil {
			return n, err
		}
		for _, e := range events {
			after = e.Seq
			if e.Time.Before(f.Since) || f.UserID != "" && e.UserID != f.UserID || f.Type != "" && e.Type != f.Type {
				continue
			}
			if err := enc.Encode(ToJSON(e)); err != nil {
				return n, err
			}
			n++
		}
		if len(events) < strongroom.MaxAuditPage {
			return n, nil
		}
	}
}

// Prune deletes the events older than before, keeping the chain
// verifiable from the first event kept (see strongroom.AuditStore), and
// returns how many it deleted.
func Prune(ctx context.Context, st strongroom.AuditStore, key []byte, before time.Time) (int, error) {
	return st.PruneAudit(ctx, before, Seal(key))
}
