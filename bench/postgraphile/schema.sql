-- PostGraphile's own computed columns for the main screen, in the bench databases only
-- (PostGraphile exposes functions named <table>_<field> taking the row as computed columns).
-- The allocation follows the app's rules (DESIGN §3): payments for a chosen bill pay it first,
-- then every remaining credit pays the oldest charges of its category.
CREATE OR REPLACE FUNCTION bench.allocation(pa_id bigint) RETURNS TABLE (bill_id bigint, amount numeric, due numeric)
LANGUAGE sql STABLE AS $$
  WITH bills AS (
    SELECT b.id, b.category, b.issued_on, b.number, b.amount FROM bill b
    WHERE b.personal_account_id = pa_id AND b.issued_on <= (SELECT business_date FROM bench.meta)
  ), credits AS (
    SELECT p.amount, p.category, p.bill_id FROM payment p
    WHERE p.personal_account_id = pa_id AND p.reverses_payment_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM payment r WHERE r.reverses_payment_id = p.id)
  ), chosen AS (
    SELECT bill_id, sum(amount) AS amount FROM credits WHERE bill_id IS NOT NULL AND amount > 0 GROUP BY bill_id
  ), alloc1 AS (
    SELECT b.*, CASE WHEN b.amount > 0 THEN least(b.amount, coalesce(c.amount, 0)) ELSE 0.00 END AS chosen_paid
    FROM bills b LEFT JOIN chosen c ON c.bill_id = b.id
  ), pool AS (
    SELECT category, sum(x) AS pool FROM (
      SELECT category, amount AS x FROM credits
      UNION ALL SELECT category, -chosen_paid FROM alloc1
      UNION ALL SELECT category, -amount FROM alloc1 WHERE amount <= 0) u
    GROUP BY category
  )
  SELECT a.id, a.amount,
         CASE WHEN a.amount <= 0 THEN 0.00
              ELSE a.amount - a.chosen_paid - greatest(0, least(a.amount - a.chosen_paid,
                     coalesce(p.pool, 0) - coalesce(sum(a.amount - a.chosen_paid) FILTER (WHERE a.amount > 0) OVER (
                       PARTITION BY a.category ORDER BY a.issued_on, a.number
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) END
  FROM alloc1 a LEFT JOIN pool p ON p.category = a.category
$$;

DROP TYPE IF EXISTS public.bill_allocation_result CASCADE;
CREATE TYPE public.bill_allocation_result AS (status text, amount_due numeric);
CREATE FUNCTION public.bill_allocation(b public.bill) RETURNS public.bill_allocation_result
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN a.amount <= 0 OR a.due = 0 THEN 'PAID' WHEN a.due = a.amount THEN 'UNPAID' ELSE 'PARTIALLY_PAID' END,
         a.due
  FROM bench.allocation(b.personal_account_id) a WHERE a.bill_id = b.id
$$;

DROP TYPE IF EXISTS public.category_debt CASCADE;
CREATE TYPE public.category_debt AS (category text, amount numeric);
CREATE FUNCTION public.personal_account_debts(p public.personal_account) RETURNS SETOF public.category_debt
LANGUAGE sql STABLE AS $$
  SELECT c.category, coalesce((SELECT sum(b.amount) FROM bill b WHERE b.personal_account_id = p.id AND b.category = c.category
                                 AND b.issued_on <= (SELECT business_date FROM bench.meta)), 0.00)
                   - coalesce((SELECT sum(x.amount) FROM payment x WHERE x.personal_account_id = p.id AND x.category = c.category
                                 AND x.reverses_payment_id IS NULL
                                 AND NOT EXISTS (SELECT 1 FROM payment r WHERE r.reverses_payment_id = x.id)), 0.00)
  FROM (VALUES ('ELECTRICITY', 1), ('ELECTRICITY_SCHEDULE', 2), ('ACTS', 3), ('ACTS_SCHEDULE', 4), ('SERVICES', 5)) c(category, ord)
  ORDER BY c.ord
$$;

CREATE OR REPLACE FUNCTION public.personal_account_debt_total(p public.personal_account) RETURNS numeric
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT sum(b.amount) FROM bill b WHERE b.personal_account_id = p.id
                     AND b.issued_on <= (SELECT business_date FROM bench.meta)), 0.00)
       - coalesce((SELECT sum(x.amount) FROM payment x WHERE x.personal_account_id = p.id AND x.reverses_payment_id IS NULL
                     AND NOT EXISTS (SELECT 1 FROM payment r WHERE r.reverses_payment_id = x.id)), 0.00)
$$;

CREATE OR REPLACE FUNCTION public.internet_payment_kyiv_date(ip public.internet_payment) RETURNS date
LANGUAGE sql STABLE AS $$
  SELECT least((ip.created_at AT TIME ZONE 'Europe/Kyiv')::date, (SELECT business_date FROM bench.meta))
$$;

-- A payment and its reversal point at each other: name the backward relation so the forward
-- one (paymentByReversesPaymentId) and the backward one do not clash.
COMMENT ON CONSTRAINT fk_payment_reverses_payment_id_payment ON public.payment IS E'@foreignSingleFieldName reversal';

-- The readings tab's chart: kWh of the readings taken in each calendar month of the period and
-- the amounts of the bills (issued up to the business date) they formed, as
-- services/ledger.monthly_consumption computes them.
DROP TYPE IF EXISTS public.month_consumption CASCADE;
CREATE TYPE public.month_consumption AS (month date, kwh bigint, amount numeric);
CREATE FUNCTION public.personal_account_monthly_consumption(p public.personal_account, since date, until date)
RETURNS SETOF public.month_consumption
LANGUAGE sql STABLE AS $$
  SELECT date_trunc('month', r.taken_on)::date, sum(r.consumption), coalesce(sum(b.amount), 0.00)
  FROM meter_reading r
  LEFT JOIN bill b ON b.reading_id = r.id AND b.issued_on <= (SELECT business_date FROM bench.meta)
  WHERE r.personal_account_id = p.id AND r.consumption IS NOT NULL AND r.taken_on BETWEEN since AND until
  GROUP BY 1 ORDER BY 1
$$;
