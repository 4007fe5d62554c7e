"""The GraphQL documents batch-runner sends, written against Rye's schema as the simulator's
schema.graphql transcribes it (sources named there). tests/test_queries.py validates each one.

On a union (Store, CartErrorDetails, OrderRequiredAction, OrderLineItem) only `__typename` and
inline fragments may be selected: every field of a member type sits in `... on Member`.
"""

from __future__ import annotations

#: What a store holds, the same in createCart's and submitCart's answers. A store's own errors
#: (StoreErrorCode) name the products they concern in details: productIds on Amazon, variantIds
#: on Shopify.
STORE_LINES = """
fragment StoreLines on Store {
  __typename
  ... on AmazonStore {
    store
    cartLines { quantity product { id } }
    errors { code message details { productIds } }
  }
  ... on ShopifyStore {
    store
    cartLines { quantity variant { id } }
    errors { code message details { variantIds } }
  }
}
"""

#: What a cart costs (Rye's CartCost; every Price.value in the currency's minor unit).
CART_COST = """
fragment CartCostFields on CartCost {
  isEstimated
  subtotal { value currency }
  shipping { value currency }
  tax { value currency }
  total { value currency }
}
"""

#: A cart-level CartError's details are the union CartErrorDetails (an address suggestion), so
#: which product a PRODUCT_NOT_FOUND concerns is said only by its message.
CREATE_CART = """
mutation CreateCart($input: CartCreateInput!) {
  createCart(input: $input) {
    cart {
      id
      cost { ...CartCostFields }
      stores { ...StoreLines }
    }
    errors { code message }
  }
}
""" + STORE_LINES + CART_COST

#: A Default-tier read of a cart's cost, until Rye calls it final.
GET_CART = """
query GetCart($id: ID!) {
  getCart(id: $id) {
    cart { id cost { ...CartCostFields } }
    errors { code message }
  }
}
""" + CART_COST

#: A store's order id is not read here: its name differs between Rye's sources (orderId on the
#: newest pages, requestId in the generated types), and polling reads each Rye order's id.
SUBMIT_CART = """
mutation SubmitCart($input: CartSubmitInput!) {
  submitCart(input: $input) {
    cart {
      id
      stores {
        isSubmitted
        store { ...StoreLines }
        errors { code message }
      }
    }
    errors { code message }
  }
}
""" + STORE_LINES

CHECKOUT_BY_CART_ID = """
query CheckoutByCartID($cartID: ID!) {
  checkoutByCartID(cartID: $cartID) {
    status
    orders {
      id
      status
      events {
        __typename
        ... on OrderFailedOrderEvent { reason reasonCode retryable }
      }
      requiredActions {
        __typename
        ... on CompletePaymentChallenge { redirectURL }
      }
      lineItems {
        __typename
        ... on AmazonLineItem { productId quantity }
        ... on ShopifyLineItem { variantId quantity }
      }
    }
  }
}
"""

ALL_DOCUMENTS = {
    "createCart": CREATE_CART,
    "submitCart": SUBMIT_CART,
    "checkoutByCartID": CHECKOUT_BY_CART_ID,
    "getCart": GET_CART,
}
