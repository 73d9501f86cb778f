-- Agents' saved replies: a name (what #modele NAME uses), a title, the French text and
-- its English version (for requesters who read English; empty: the French one), with
-- placeholders such as {demandeur} that are filled when the reply is used.
CREATE TABLE saved_replies (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL DEFAULT '',
    body_fr    TEXT NOT NULL,
    body_en    TEXT NOT NULL DEFAULT '',
    updated_by INTEGER REFERENCES users(id),
    updated_at TIMESTAMP NOT NULL
);
