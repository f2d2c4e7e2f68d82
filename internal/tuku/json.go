package tuku

import "encoding/json"

// MarshalJSON writes the asset as the API contract has it (DESIGN.md §3):
// absent values are null, not zero — project_id, taken_at, camera_make
// and camera_model (orientation and gps are pointers already) — and tags is always a list.
func (a Asset) MarshalJSON() ([]byte, error) {
	type plain Asset // no methods: avoids recursion
	out := struct {
		plain
		ProjectID   *string `json:"project_id"`
		TakenAt     *string `json:"taken_at"`
		CameraMake  *string `json:"camera_make"`
		CameraModel *string `json:"camera_model"`
		Tags        []Tag   `json:"tags"`
	}{plain: plain(a), Tags: a.Tags}
	if a.ProjectID != "" {
		out.ProjectID = &a.ProjectID
	}
	if a.TakenAt != "" {
		out.TakenAt = &a.TakenAt
	}
	if a.CameraMake != "" {
		out.CameraMake = &a.CameraMake
	}
	if a.CameraModel != "" {
		out.CameraModel = &a.CameraModel
	}
	if out.Tags == nil {
		out.Tags = []Tag{}
	}
	return json.Marshal(out)
}
