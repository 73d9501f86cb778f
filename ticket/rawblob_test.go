package ticket

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/guichet/guichet/blob"
)

// TestRawBlob: a big message stored as a blob file (Delivery.RawBlob) has an empty raw
// column, its size and body hash from the delivery, reads back whole from the blob store,
// and is the same message as its bytes delivered the ordinary way (a plain duplicate).
func TestRawBlob(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, open(t), nil)
			blobs, err := blob.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			s.opt.RawBlobs = blobs
			d := testMail("jeanne@ecole.test", "Gros fichier", "big1@ecole.test")
			trace := []byte("Received: from z\r\n")
			raw := append(append([]byte(nil), trace...), d.Raw...)
			sum, size, err := blobs.PutBlob(ctx, bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			body := sha256.Sum256(raw[len(trace):])
			big := d
			big.Raw, big.Env.TraceLen = nil, len(trace)
			big.RawBlob, big.RawSize, big.BodySum = sum, size, hex.EncodeToString(body[:])
			r := accept(t, s, big)
			if !r.Created {
				t.Fatalf("big message: %+v", r)
			}
			got, err := s.InboundRaw(ctx, r.InboundID)
			if err != nil || !bytes.Equal(got, raw) {
				t.Fatalf("read back %q, %v", got, err)
			}
			var col, n int64
			if err := s.db.QueryRowxContext(ctx, s.db.Rebind("SELECT (SELECT COUNT(*) FROM inbound_raw r WHERE r.id = i.id), size FROM inbound i WHERE id = ?"), r.InboundID).Scan(&col, &n); err != nil {
				t.Fatal(err)
			}
			if col != 0 || n != size {
				t.Fatalf("inbound_raw holds %d rows of it and size is %d, want 0 and %d", col, n, size)
			}
			// the same bytes behind another trace header, held in memory: a duplicate
			same := testMail("jeanne@ecole.test", "Gros fichier", "big1@ecole.test")
			other := []byte("Received: from elsewhere\r\n")
			same.Raw, same.Env.TraceLen = append(other, same.Raw...), len(other)
			if r2 := accept(t, s, same); !r2.Duplicate || r2.InboundID != r.InboundID {
				t.Fatalf("same message again: %+v", r2)
			}
		})
	}
}
