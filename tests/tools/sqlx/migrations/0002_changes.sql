ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();
CREATE INDEX orders_amount_idx ON orders (amount);
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customer (id);
