package sqlite

// Migrations exposes the schema steps to the migration test.
var Migrations = migrations
