"""Write a deterministic CSV of N orders (1-3 items each, unique product ids) for benchmarks.

    python bench/gen_orders.py 1000000 /tmp/big.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HEADER = ("order_id", "marketplace", "product_id", "quantity", "first_name", "last_name", "email",
          "phone", "address1", "address2", "city", "province_code", "postal_code", "country_code")
BUYER = ("Ada", "Lovelace", "ada@example.com", "2125550100", "1460 Broadway", "", "New York",
         "NY", "10036", "US")


def write_orders(path: Path, n: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(n):
            for j in range(1 + i % 3):
                if (i + j) % 2:
                    writer.writerow((f"O-{i}", "AMAZON", f"B{i:08d}{j}", 1, *BUYER))
                else:
                    writer.writerow((f"O-{i}", "SHOPIFY", f"7{i:09d}{j}", 1 + j, *BUYER))


if __name__ == "__main__":
    write_orders(Path(sys.argv[2]), int(sys.argv[1]))
