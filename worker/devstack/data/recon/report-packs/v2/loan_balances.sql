-- Outstanding balance per loan: principal less repayments.
SELECT l.loan_id, b.name AS borrower, l.currency, l.principal,
       l.principal - COALESCE(SUM(r.amount), 0) AS outstanding
FROM loans l
JOIN borrowers b USING (borrower_id)
LEFT JOIN repayments r USING (loan_id)
GROUP BY l.loan_id, b.name, l.currency, l.principal
