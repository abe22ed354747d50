-- Exposure per rating and currency.
SELECT rating, currency, COUNT(*) AS loans, SUM(principal) AS total_principal
FROM loans
GROUP BY rating, currency
