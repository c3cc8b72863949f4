package strongroom

import (
	"math/rand/v2"
	"regexp"
	"testing"
	"unicode/utf8"
)

// alphabet mixes what the rules must tell apart: ASCII letters, digits and
// punctuation; upper, lower and title case beyond ASCII; digits of other
// scripts; every kind of white space Go knows, and characters that are
// none of these (symbols, combining marks, controls).
var alphabet = []rune("aZz09 _.-@+!#'`~\t\n\v\f\r" +
	"\u0085\u00a0\u1680\u2000\u2028\u2029\u202f\u3000" + // white space
	"ÄéǅΩωЖж٣߂१" + // letters and digits of other scripts (ǅ is title case; ٣ ߂ १ are digits)
	"€§\u0301\u200b\u202e\x00\x7f💡")

func randomString(r *rand.Rand, maxLen int) string {
	n := r.IntN(maxLen + 1)
	b := make([]rune, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// The password rule the document declares (its pattern and its length in
// characters) accepts exactly the passwords ValidatePassword accepts.
func TestPasswordPatternIsTheRule(t *testing.T) {
	re := regexp.MustCompile(PasswordPattern)
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for range 200_000 {
		pw := randomString(r, 140)
		declared := re.MatchString(pw) && utf8.RuneCountInString(pw) >= MinPasswordLen && utf8.RuneCountInString(pw) <= MaxPasswordLen
		if checked := ValidatePassword(pw) == nil; checked != declared {
			t.Fatalf("%+q: ValidatePassword says %v, the declared rule %v", pw, checked, declared)
		}
		if declared {
			accepted++
		}
	}
	if accepted < 1000 {
		t.Fatalf("only %d random passwords were valid: the test says little", accepted)
	}
	for _, pw := range []string{"StrongP@ssw0rd1!", "ÄBCDEFG١€", "aaaaaaA1\u0301"} {
		if !re.MatchString(pw) || ValidatePassword(pw) != nil {
			t.Errorf("%+q refused", pw)
		}
	}
}

// Likewise the username, email and data_type rules.
func TestPatternsAreTheRules(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	user, email, dataType := regexp.MustCompile(UsernamePattern), regexp.MustCompile(EmailPattern), regexp.MustCompile(DataTypePattern)
	passkeyName := regexp.MustCompile(PasskeyNamePattern)
	for range 200_000 {
		s := randomString(r, 70)
		if checked, declared := ValidateUsername(NormalizeUsername(s)) == nil, user.MatchString(s); checked != declared {
			t.Fatalf("username %+q: checked %v, declared %v", s, checked, declared)
		}
		if checked, declared := ValidateRecord(s, "x") == nil, dataType.MatchString(s); checked != declared {
			t.Fatalf("data_type %+q: checked %v, declared %v", s, checked, declared)
		}
		_, err := NormalizeEmail(s)
		if checked, declared := err == nil, email.MatchString(s) && utf8.RuneCountInString(s) <= MaxEmailLen; checked != declared {
			t.Fatalf("email %+q: checked %v, declared %v", s, checked, declared)
		}
		if checked, declared := ValidatePasskeyName(s) == nil, passkeyName.MatchString(s) && utf8.RuneCountInString(s) <= MaxPasskeyNameLen; checked != declared {
			t.Fatalf("passkey name %+q: checked %v, declared %v", s, checked, declared)
		}
	}
	for _, bad := range []string{"a\tb", "\x7f", "line\nbreak"} {
		if ValidatePasskeyName(bad) == nil {
			t.Errorf("passkey name %q accepted", bad)
		}
	}
	for _, ok := range []string{"Alice", "bob.smith_2", "a-1"} {
		if !user.MatchString(ok) {
			t.Errorf("username %q refused", ok)
		}
	}
	for _, ok := range []string{"name@example.com", "o'brien+tag@mail.example.co.uk", "A.B@x-y.io"} {
		if _, err := NormalizeEmail(ok); err != nil || !email.MatchString(ok) {
			t.Errorf("email %q refused", ok)
		}
	}
	for _, bad := range []string{"a..b@example.com", "name@localhost", "\"q\"@example.com", "a@-x.com", "Name <a@b.co>"} {
		if _, err := NormalizeEmail(bad); err == nil {
			t.Errorf("email %q accepted", bad)
		}
	}
}
