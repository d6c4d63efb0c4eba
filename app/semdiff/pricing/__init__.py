"""Price books: keyed records, exact money, terms and discounts."""
