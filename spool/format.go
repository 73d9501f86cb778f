package spool

import (
	"crypto/rand"
	"encoding/binary"
	"hash/crc32"
)

// The on-disk format, version 2 (little-endian throughout).
//
// A segment file begins with a 20-byte header:
//
//	0  "GSPS"     magic
//	4  2          format version (one byte), then 3 zero bytes
//	8  salt       8 random bytes drawn when the segment is created
//	16 CRC-32C    of bytes 0-15
//
// Each record follows the one before it:
//
//	0  "GSR2"     magic
//	4  meta length
//	8  raw length
//	12 CRC-32C    of meta then raw
//	16 CRC-32C    of the segment's salt then bytes 0-15 of this header
//	20 meta, raw
//
// The header's own checksum tells a damaged length before any byte of the payload is
// read. The salt makes that checksum unique to the segment: a record that a sender wrote
// into a message's raw bytes (which the spool holds as they came) does not check, so a
// scan that searches for the next record after damage never takes one out of a message
// for a record of its own (with its envelope, the sender could claim any client address).
//
// Version 1 (Guichet before this format) had no segment header; its records were
// "GSP1", the two lengths and the CRC-32C of meta and raw (16 bytes). Open still reads
// such segments (see scanV1) and never writes one: a spool left by the previous version
// at an upgrade is taken, and its files go as their records are done.
const (
	segMagic      = "GSPS"
	segVersion    = 2
	segHeaderSize = 20
	recMagic      = "GSR2"
	recHeaderSize = 20

	v1Magic      = "GSP1"
	v1HeaderSize = 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recMagicBytes is recMagic for bytes.Index.
var recMagicBytes = []byte(recMagic)

// salt is a segment's random key for its records' header checksums.
type salt [8]byte

func newSalt() salt {
	var s salt
	rand.Read(s[:]) // never fails (crypto/rand panics rather than return an error)
	return s
}

// segHeader returns the header of a new segment with salt k.
func segHeader(k salt) []byte {
	h := make([]byte, segHeaderSize)
	copy(h, segMagic)
	h[4] = segVersion
	copy(h[8:], k[:])
	binary.LittleEndian.PutUint32(h[16:], crc32.Checksum(h[:16], castagnoli))
	return h
}

// parseSegHeader reads a segment header: its version and salt, ok when its magic and
// checksum hold (the version is then whatever the writer put, maybe a newer one).
func parseSegHeader(h []byte) (version byte, k salt, ok bool) {
	if len(h) < segHeaderSize || string(h[:4]) != segMagic ||
		crc32.Checksum(h[:16], castagnoli) != binary.LittleEndian.Uint32(h[16:]) {
		return 0, k, false
	}
	copy(k[:], h[8:16])
	return h[4], k, true
}

// putRecHeader fills h (recHeaderSize bytes) for a record of a segment salted k.
func putRecHeader(h []byte, k *salt, metaLen, rawLen int, crc uint32) {
	copy(h, recMagic)
	binary.LittleEndian.PutUint32(h[4:], uint32(metaLen))
	binary.LittleEndian.PutUint32(h[8:], uint32(rawLen))
	binary.LittleEndian.PutUint32(h[12:], crc)
	binary.LittleEndian.PutUint32(h[16:], headerCRC(k, h[:16]))
}

// parseRecHeader checks a record header of a segment salted k and returns its lengths
// and payload checksum; ok is false when its magic or its own checksum is wrong (then
// nothing in it can be trusted).
func parseRecHeader(h []byte, k *salt) (metaLen, rawLen, crc uint32, ok bool) {
	if len(h) < recHeaderSize || string(h[:4]) != recMagic ||
		headerCRC(k, h[:16]) != binary.LittleEndian.Uint32(h[16:]) {
		return 0, 0, 0, false
	}
	le := binary.LittleEndian
	return le.Uint32(h[4:]), le.Uint32(h[8:]), le.Uint32(h[12:]), true
}

func headerCRC(k *salt, h []byte) uint32 {
	return crc32.Update(crc32.Checksum(k[:], castagnoli), castagnoli, h)
}

// payloadCRC is the checksum of a record's meta and raw bytes (both versions).
func payloadCRC(meta, raw []byte) uint32 {
	return crc32.Update(crc32.Checksum(meta, castagnoli), castagnoli, raw)
}
