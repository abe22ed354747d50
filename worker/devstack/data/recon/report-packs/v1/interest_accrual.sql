-- Monthly interest accrual per loan, in cents.
SELECT loan_id, currency, annual_rate, ROUND(principal * annual_rate / 12, 2) AS monthly_interest
FROM loans
