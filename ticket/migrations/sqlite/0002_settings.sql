-- Settings shared by every instance, such as the key that signs reply addresses.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
