-- The e-mail channel, PostgreSQL flavour. Keep in step with ../sqlite/0006_mail.sql.

-- The buyer's purchasing officer: the consolidated proposal is mailed there when the e-mail channel is on.
ALTER TABLE tenders ADD COLUMN buyer_email TEXT;
