"""The Shopify stand-in's products: seeding variants with their inventory by location, the
``productVariants`` query, and a variant (and an order's line item of it) as the Admin API
shows it."""

from __future__ import annotations

from typing import Any

from bot.demo.standins.shopify.connections import Run, root_connection
from bot.demo.standins.shopify.model import ShopVariant
from bot.demo.standins.shopify.search import Search


class Products:
    """Product variants and their inventory (set up by `ShopifyStandin`)."""

    variants: list[ShopVariant]
    _first_by_sku: dict[str, ShopVariant]

    def add_variant(
        self,
        sku: str,
        available: int | dict[str, int],
        *,
        title: str = "Default Title",
        product_title: str | None = None,
        reorder_point: int | None = None,
    ) -> ShopVariant:
        levels = available if isinstance(available, dict) else {"Main warehouse": available}
        variant = ShopVariant(
            sku, title, product_title or sku, dict(levels), number=len(self.variants) + 1
        )
        if reorder_point is not None:
            variant.metafields["occ", "reorder_point"] = str(reorder_point)
        self.variants.append(variant)
        self._first_by_sku.setdefault(sku, variant)
        return variant

    def resolve_variants(self, run: Run, args: dict[str, Any]) -> dict[str, Any]:
        matches = Search(args.get("query"), {"sku"})
        return root_connection(
            run,
            "productVariants",
            lambda: [v for v in self.variants if matches(lambda f, v=v: v.sku)],
            args,
            self.variant_json,
        )

    def line_item_json(self, order_number: int, index: int, item: tuple[str, int, str]) -> dict:
        sku, quantity, title = item
        variant = self._first_by_sku.get(sku)
        return {
            "id": f"gid://shopify/LineItem/{order_number * 100 + index}",
            "name": title,
            "title": title,
            "quantity": quantity,
            "sku": sku,
            "variant": self.variant_json(variant) if variant else None,
        }

    def variant_json(self, variant: ShopVariant) -> dict[str, Any]:
        return {
            "id": variant.gid,
            "sku": variant.sku,
            "title": variant.title,
            "displayName": f"{variant.product_title} - {variant.title}",
            "inventoryQuantity": sum(variant.available.values()),
            "_metafields": variant.metafields,
            "product": {
                "id": f"gid://shopify/Product/{8_000_000 + variant.number}",
                "title": variant.product_title,
            },
            "inventoryItem": {
                "id": f"gid://shopify/InventoryItem/{6_000_000 + variant.number}",
                "sku": variant.sku,
                "tracked": True,
                "_levels": [
                    {
                        "id": f"gid://shopify/InventoryLevel/{variant.number}{i}",
                        "location": {"id": f"gid://shopify/Location/{i + 1}", "name": name},
                        "_available": quantity,
                    }
                    for i, (name, quantity) in enumerate(variant.available.items())
                ],
            },
        }
