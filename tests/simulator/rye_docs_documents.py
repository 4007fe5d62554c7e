"""GraphQL documents copied from Rye's pages in shared/rye-api/docs (kept here so tests are self-contained)."""

from __future__ import annotations

DOCUMENTS: dict[str, str] = {
    'backend_ordering_submitCart': '    mutation SubmitCart {\n      submitCart(input: {\n        id: "YOUR_CART_ID_HERE"\n        selectedShippingOptions: [\n          {\n            store: "rye-staging-test-store.myshopify.com"\n            shippingId: "YOUR_CHOSEN_SHIPPING_ID_HERE"\n          }\n        ]\n      }) {\n        cart {\n          id\n          stores {\n            status\n            # Note: This `orderId` field is important!\n            orderId\n            store {\n              ... on ShopifyStore {\n                store\n                cartLines {\n                  quantity\n                  variant {\n                    id\n                  }\n                }\n              }\n            }\n            errors {\n              code\n              message\n            }\n          }\n        }\n        errors {\n          code\n          message\n        }\n      }\n    }\n\n    ',
    'backend_ordering_orderByID': '    query OrderById {\n      orderByID(id: "YOUR_ORDER_ID_HERE") {\n        id\n        status\n        events {\n          id\n          createdAt\n          ... on OrderFailedOrderEvent {\n            reason\n          }\n        }\n        requiredActions {\n          ... on CompletePaymentChallenge {\n            redirectURL\n          }\n        }\n      }\n    }\n    ',
    'submitCart_reference': 'mutation ($input: CartSubmitInput!) {\n  submitCart(input: $input) {\n    cart {\n      id,\n      stores {\n        status\n        orderId\n        store {\n          ... on AmazonStore {\n            errors {\n              code\n              message\n              details {\n                reasons {\n                  code\n                  reason\n                }\n                productIds\n              }\n            }\n            store\n            cartLines {\n              quantity\n              product {\n                id\n              }\n            }\n          }\n          ... on ShopifyStore {\n            errors {\n              code\n              message\n            }\n            store\n            cartLines {\n              quantity\n              variant {\n                id\n              }\n            }\n          }\n        }\n      }\n    }\n    errors {\n        code\n        message\n    }\n  }\n}\n',
    'checkoutByCartID_reference': 'query Checkout($cartID: ID!){\n  checkoutByCartID(cartID: $cartID) {\n    status\n    orders {\n      id\n      status\n      events {\n        __typename\n        id\n        createdAt\n        ... on OrderFailedOrderEvent { reason }\n      }\n      requiredActions {\n        ... on CompletePaymentChallenge {\n          redirectURL\n        }\n      }\n    }\n    cart {\n      id\n      stores {\n        ... on AmazonStore {\n          store\n          requestId\n          cartLines {\n            product {\n              id\n            }\n            quantity\n          }\n          offer {\n            shippingMethods {\n              id\n              total {\n                displayValue\n              }\n            }\n          }\n          errors {\n            message\n          }\n          isSubmitted\n        }\n        \n        ... on ShopifyStore {\n          store\n          requestId\n          cartLines {\n            variant {\n              id\n            }\n            quantity\n          }\n          offer {\n            shippingMethods {\n              id\n              total {\n                displayValue\n              }\n            }\n          }\n          errors {\n            message\n          }\n          isSubmitted\n        }\n      }\n      buyerIdentity {\n        firstName\n        lastName\n      }\n    }\n  }\n}',
    'submitCart_older': 'mutation ($input: CartSubmitInput!) {\nsubmitCart(input: $input) {\ncart {\nid,\nstores {\nstatus,\nrequestId\nstore {\n... on AmazonStore {\nstore\ncartLines {\nquantity,\nproduct {\nid\n}\n}\n}\n... on ShopifyStore {\nstore\ncartLines {\nquantity,\nvariant {\nid\n}\n}\n}\n}\nerrors {\ncode\nmessage\n}\n}\n}\nerrors {\ncode\nmessage\n}\n}\n}\n',
    'error_guide_helper_0': '\n          mutation CreateCart($input: CartCreateInput!) {\n            createCart(input: $input) {\n              cart {\n                id\n              }\n            }\n          }\n        ',
    'error_guide_helper_1': '\n          mutation SubmitCart($input: CartSubmitInput!) {\n            submitCart(input: $input) {\n              cart {\n                stores {\n                  errors {\n                    code\n                    message\n                  }\n                }\n              }\n              errors {\n                code\n                message\n              }\n            }\n          }\n        ',
    'error_guide_helper_2': '\n          query CheckoutByCartId($cartId: ID!) {\n            checkoutByCartID(cartID: $cartId) {\n              orders {\n                id\n                events {\n                  __typename\n                  ... on OrderFailedOrderEvent {\n                    reason\n                    reasonCode\n                    retryable\n                  }\n                }\n                lineItems {\n                  __typename\n                  ... on AmazonLineItem {\n                    productId\n                    quantity\n                  }\n                  ... on ShopifyLineItem {\n                    quantity\n                    variantId\n                  }\n                }\n              }\n            }\n          }\n        ',
}

#: The example variables the pages send with their documents (placeholders as the pages spell them).
VARIABLES: dict[str, dict[str, object]] = {
    'submitCart_reference': {'input': {
        'id': '{{cartId}}',
        'selectedShippingOptions': [{'store': '{{store}}', 'shippingId': '{{shippingId}}'}],
        'billingAddress': {
            'firstName': '{{firstName}}', 'lastName': '{{lastName}}', 'phone': '{{phone}}',
            'address1': '{{address1}}', 'address2': '{{address2}}', 'city': '{{city}}',
            'provinceCode': '{{provinceCode}}', 'countryCode': 'US', 'postalCode': '{{postalCode}}',
        },
        'cartSettings': {'amazonSettings': {'hidePriceOnPackage': True}},
    }},
    'submitCart_older': {'input': {
        'id': '{{cartId}}', 'token': '{{paymentTokne}}',
        'selectedShippingOptions': [{'store': '{{store}}', 'shippingId': '{{shippingId}}'}],
        'billingAddress': {
            'firstName': '{{firstName}}', 'lastName': '{{lastName}}', 'phone': '{{phone}}',
            'address1': '{{address1}}', 'address2': '{{address2}}', 'city': '{{city}}',
            'provinceCode': '{{provinceCode}}', 'countryCode': 'US', 'postalCode': '{{postalCode}}',
        },
    }},
    'checkoutByCartID_reference': {'cartID': '{{cartId}}'},
    'error_guide_helper_0': {'input': {
        'items': {'shopifyCartItemsInput': [{'quantity': 1, 'variantId': '44346795295022'}]},
        'buyerIdentity': {
            'firstName': 'John', 'lastName': 'Doe', 'email': 'john@rye.com', 'address1': '1460 Broadway',
            'city': 'New York City', 'provinceCode': 'NY', 'countryCode': 'US', 'postalCode': '10036',
        },
    }},
    'error_guide_helper_1': {'input': {'id': '{{cartId}}'}},
    'error_guide_helper_2': {'cartId': '{{cartId}}'},
}

#: Known errata of the pages: each fails validation against Rye's schema, with these messages.
#: handling-errors.md's poll spells checkoutByCartID's argument `id`; the reference page and Rye's
#: generated types (QueryCheckoutByCartIdArgs) say `cartID`.
ERRATA: dict[str, tuple[str, tuple[str, ...]]] = {
    'error_guide_poll_with_id_argument': (
        'query PollForCheckoutStatus($cartId: ID!) {\n  checkoutByCartID(id: $cartId) {\n    orders {\n      events {\n        __typename\n        ... on OrderFailedOrderEvent {\n          reason\n          reasonCode\n          retryable\n        }\n      }\n    }\n  }\n}\n',
        (
            "Unknown argument 'id' on field 'Query.checkoutByCartID'.",
            "Argument 'Query.checkoutByCartID(cartID:)' of type 'ID!' is required, but it was not provided.",
        ),
    ),
}
