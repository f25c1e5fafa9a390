package contract_test

import (
	"fmt"

	"github.com/pave-dev/pave/internal/contract"
)

func Example() {
	schema, err := contract.Compile("schemas/order.json", []byte(`{
		"type": "object",
		"required": ["sku", "qty"],
		"properties": {
			"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
			"qty": {"type": "integer", "minimum": 1, "maximum": 100}
		}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}

	body := []byte(`{"sku": "abc", "qty": 500}`)
	v, err := contract.DecodeStrict(body, contract.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, vi := range schema.Validate(v, contract.MaxViolations) {
		fmt.Printf("%s: %s (%s)\n", vi.Pointer, vi.Reason, vi.Keyword)
	}

	_, err = contract.DecodeStrict([]byte(`{"qty": 1, "\u0071ty": 2}`), contract.Limits{})
	fmt.Println(err)

	// Output:
	// /qty: must be at most 100 (maximum)
	// /sku: must match pattern "^[A-Z]{3}-[0-9]{4}$" (pattern)
	// invalid JSON at byte 11 (/qty): has a duplicate object key
}

func ExampleCompile_remoteRef() {
	_, err := contract.Compile("schemas/order.json", []byte(`{
  "properties": {"customer": {"$ref": "https://example.com/customer.json"}}
}`))
	fmt.Println(err)
	// Output:
	// schemas/order.json: line 2, column 39: at /properties/customer/$ref: reference "https://example.com/customer.json" points outside this document; only references within the same schema (such as "#/$defs/name") are allowed
}
