package strongroom

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// The input rules, as the patterns the API's OpenAPI document declares
// (JSON Schema: ECMA-262 regular expressions, which these are as well as
// RE2). The checks in this package accept exactly what the patterns and
// the declared lengths accept; rules_test.go holds them to it.
const (
	// UsernamePattern: 3 to 64 letters, digits, '.', '_' and '-', starting
	// with a letter or digit. Capitals are folded to lowercase.
	UsernamePattern = `^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$`
	// EmailPattern: an ASCII dot-atom local part and a domain of at least
	// two labels (letters, digits, inner hyphens), at most MaxEmailLen.
	EmailPattern = `^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+)*` +
		`@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`
	// DataTypePattern: lowercase letters, digits and '_', starting with a
	// letter, at most MaxDataTypeLen.
	DataTypePattern = `^[a-z][a-z0-9_]{0,63}$`
	// RecordIDPattern: a record's id, 24 lowercase hexadecimal digits.
	RecordIDPattern = `^[0-9a-f]{24}$`
	// CardNumberPattern: a card_number's value.
	CardNumberPattern = `^[0-9]{16}$`
	// PasskeyNamePattern: a passkey's name, printable text (no control
	// characters), at most MaxPasskeyNameLen characters.
	PasskeyNamePattern = `^[^\x00-\x1f\x7f]*$`
)

// PasswordPattern: somewhere an uppercase letter (Unicode Lu), a digit
// (Nd) and a special character (neither a letter, nor a digit, nor white
// space), in any order; its length (MinPasswordLen to MaxPasswordLen
// characters) is declared apart. White space is Go's unicode.IsSpace:
// \t \n \v \f \r, U+0085 and the Z categories.
var PasswordPattern = func() string {
	const gap = `[\s\S]*`
	classes := map[byte]string{
		'U': `\p{Lu}`,
		'D': `\p{Nd}`,
		'S': "[^\\p{L}\\p{Nd}\\t\\n\\v\\f\\r\u0085\\p{Z}]",
	}
	var alts []string
	for _, order := range []string{"UDS", "USD", "DUS", "DSU", "SUD", "SDU"} {
		alt := ""
		for i := range 3 {
			alt += gap + classes[order[i]]
		}
		alts = append(alts, alt)
	}
	return "^(" + strings.Join(alts, "|") + ")" + gap + "$"
}()

var (
	usernameRE = regexp.MustCompile(UsernamePattern)
	emailRE    = regexp.MustCompile(EmailPattern)
	dataTypeRE = regexp.MustCompile(DataTypePattern)
	passkeyRE  = regexp.MustCompile(PasskeyNamePattern)
)

// ValidatePasskeyName checks a passkey's name (PasskeyNamePattern, at
// most MaxPasskeyNameLen characters, UTF-8).
func ValidatePasskeyName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxPasskeyNameLen || !passkeyRE.MatchString(name) {
		return Invalid("name", "name must be at most %d characters of printable text", MaxPasskeyNameLen)
	}
	return nil
}
