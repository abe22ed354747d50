-- Principal maturing per year.
SELECT EXTRACT(YEAR FROM matures_on)::int AS maturity_year, COUNT(*) AS loans, SUM(principal) AS principal
FROM loans
GROUP BY 1
