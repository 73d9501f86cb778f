-- Requesters' satisfaction ratings: one per ticket, requester and closing (closed_at, the
-- closing the rating link of the closing mail was made for), so that a ticket reopened and
-- closed again is rated again. score is 1 (très insatisfait) to 5 (très satisfait);
-- agent_id is the agent the rating is for: the assignee at closing, else the agent who
-- closed it (NULL when neither). rated_at is the first answer, updated_at the last change
-- (allowed for 7 days after the closing).
CREATE TABLE satisfaction_ratings (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
    requester_id INTEGER NOT NULL REFERENCES users(id),
    agent_id     INTEGER REFERENCES users(id),
    closed_at    TIMESTAMP NOT NULL,
    score        INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment      TEXT NOT NULL DEFAULT '',
    rated_at     TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (ticket_id, requester_id, closed_at)
);
CREATE INDEX satisfaction_ratings_rated ON satisfaction_ratings (rated_at);
