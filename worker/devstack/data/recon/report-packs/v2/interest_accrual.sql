-- Monthly interest accrual per loan. v2 rounds to whole currency units (the planted change).
SELECT loan_id, currency, annual_rate, ROUND(principal * annual_rate / 12, 0) AS monthly_interest
FROM loans
