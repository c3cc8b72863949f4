package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/joho/godotenv"
)

// readDotenv reads the .env file at path with godotenv, the parser whose
// rules Docker Compose's own .env parser descends from, so one file means
// the same to "docker compose" and to "strongroom serve": "# comments"
// after unquoted values, single quotes literal, escapes and ${NAME} in
// double quotes. A missing file is no file: an empty map and no error.
//
// A file that cannot be parsed is an error naming the file and the line of
// the statement that failed, and never quoting the file: godotenv's own
// messages repeat the rest of the line, or of the file, secrets included.
func readDotenv(path string) (map[string]string, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err // names the file; holds nothing of its content
	}
	// Editors on Windows may start the file with a byte-order mark, which
	// Compose skips and godotenv would take for part of the first name.
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	vars, ok := parseDotenv(src)
	if !ok {
		return nil, fmt.Errorf("%s:%d: expected NAME=value, with a closing quote for a quoted value", path, badLine(src))
	}
	return vars, nil
}

// parseDotenv parses a whole .env file; ok is false if godotenv refuses it
// or if it yields a name godotenv should have refused.
func parseDotenv(src []byte) (vars map[string]string, ok bool) {
	vars, err := godotenv.UnmarshalBytes(src)
	if err != nil {
		return nil, false
	}
	for name := range vars {
		// godotenv takes "=value" and a last line with no "=" and no
		// newline ("PEPPER") for the value of an empty name, and keeps the
		// space in "JWT SECRET=...". Taking them would quietly leave the
		// variable meant unset.
		if name == "" || strings.ContainsFunc(name, unicode.IsSpace) {
			return nil, false
		}
	}
	return vars, true
}

// badLine returns the line on which the statement that stops src from
// parsing begins. The first k lines parse for every k before that line
// that does not end inside a multi-line quoted value, and fail for every k
// from it on; so it is one past the longest prefix that parses. It parses
// the file once per line, which only a file already refused pays for.
func badLine(src []byte) int {
	lines := bytes.SplitAfter(src, []byte("\n"))
	good, n := 0, 0
	for k, line := range lines {
		n += len(line)
		if _, ok := parseDotenv(src[:n]); ok {
			good = k + 1
		}
	}
	return good + 1
}
