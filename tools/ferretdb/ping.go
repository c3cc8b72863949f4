package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"time"
)

// pingMongo sends {ping: 1, $db: "admin"} as an OP_MSG and checks the answer
// says ok: 1, what `mongosh --eval "db.adminCommand('ping').ok"` checks in
// the official image's healthcheck. Written out by hand: the stand-in image
// has no MongoDB shell and FerretDB's wire code is internal.
func pingMongo(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))

	var doc bytes.Buffer
	doc.Write(make([]byte, 4)) // length, filled in below
	doc.WriteByte(0x10)        // int32
	doc.WriteString("ping\x00")
	_ = binary.Write(&doc, binary.LittleEndian, int32(1))
	doc.WriteByte(0x02) // string
	doc.WriteString("$db\x00")
	_ = binary.Write(&doc, binary.LittleEndian, int32(len("admin")+1))
	doc.WriteString("admin\x00")
	doc.WriteByte(0)
	d := doc.Bytes()
	binary.LittleEndian.PutUint32(d, uint32(len(d)))

	var msg bytes.Buffer
	hdr := []int32{int32(16 + 4 + 1 + len(d)), 1, 0, 2013} // length, requestID, responseTo, OP_MSG
	for _, v := range hdr {
		_ = binary.Write(&msg, binary.LittleEndian, v)
	}
	_ = binary.Write(&msg, binary.LittleEndian, uint32(0)) // flagBits
	msg.WriteByte(0)                                       // section kind 0: body
	msg.Write(d)
	if _, err := conn.Write(msg.Bytes()); err != nil {
		return err
	}

	var size int32
	if err := binary.Read(conn, binary.LittleEndian, &size); err != nil {
		return err
	}
	if size < 21 || size > 1<<20 {
		return fmt.Errorf("ping: answer of %d bytes", size)
	}
	reply := make([]byte, size-4)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return err
	}
	// reply: requestID, responseTo, opCode (12 bytes), flagBits (4), kind (1), document.
	if ok, found := bsonDouble(reply[17:], "ok"); !found || ok != 1 {
		return errors.New("ping: the server did not answer ok: 1")
	}
	return nil
}

// bsonDouble finds a top-level number field of a BSON document.
func bsonDouble(doc []byte, name string) (float64, bool) {
	if len(doc) < 5 {
		return 0, false
	}
	for i := 4; i < len(doc)-1; {
		typ := doc[i]
		end := bytes.IndexByte(doc[i+1:], 0)
		if end < 0 {
			return 0, false
		}
		key := string(doc[i+1 : i+1+end])
		v := doc[i+2+end:]
		var size int
		switch typ {
		case 0x01: // double
			if key == name && len(v) >= 8 {
				return math.Float64frombits(binary.LittleEndian.Uint64(v)), true
			}
			size = 8
		case 0x10: // int32
			if key == name && len(v) >= 4 {
				return float64(int32(binary.LittleEndian.Uint32(v))), true
			}
			size = 4
		case 0x12, 0x09, 0x11: // int64, datetime, timestamp
			if key == name && typ == 0x12 && len(v) >= 8 {
				return float64(int64(binary.LittleEndian.Uint64(v))), true
			}
			size = 8
		case 0x08: // bool
			size = 1
		case 0x0A: // null
			size = 0
		case 0x02: // string
			if len(v) < 4 {
				return 0, false
			}
			size = 4 + int(binary.LittleEndian.Uint32(v))
		case 0x03, 0x04: // document, array
			if len(v) < 4 {
				return 0, false
			}
			size = int(binary.LittleEndian.Uint32(v))
		default:
			return 0, false
		}
		i += 2 + end + size
	}
	return 0, false
}
