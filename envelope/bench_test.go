package envelope_test

import (
	"crypto/rand"
	"testing"

	"github.com/strongroom/strongroom/envelope"
)

func BenchmarkSealRecord(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(byteSize(size), func(b *testing.B) {
			k := mustKey(b, 1)
			aad := envelope.RecordAAD("65a000000000000000000001", "65a000000000000000000002", "card_number")
			pt := make([]byte, size)
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := envelope.SealRecord(k, rand.Reader, aad, pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpenRecord(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(byteSize(size), func(b *testing.B) {
			k := mustKey(b, 1)
			aad := envelope.RecordAAD("65a000000000000000000001", "65a000000000000000000002", "card_number")
			enc, _ := envelope.SealRecord(k, rand.Reader, aad, make([]byte, size))
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := envelope.OpenRecord(k, aad, enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1024 {
		return string(rune('0'+n/1024)) + "KiB"
	}
	return "64B"
}
