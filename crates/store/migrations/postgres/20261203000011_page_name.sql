-- The name at the top of a creator's page ("Cerulean Studio", "The Night
-- Garden"), when it is not the creator's own name; NULL shows their name.
ALTER TABLE campaigns ADD COLUMN page_name TEXT;
